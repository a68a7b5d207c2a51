/**
 * The conformance checks of a generator worker (protocol v2), in the order they run. Each one uses only what the
 * worker's `hello` announces (the others skip, saying why), bounds every wait, and leaves no rollout behind (the
 * runner discards what a check tracked, and restores the worker's state at the end when it can).
 */
import { stat } from 'node:fs/promises';
import { isAbsolute, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { isVrGrpoError } from '../../errors/index.js';
import { isVideoFile, Media, type VideoHandle } from '../../media/index.js';
import type { UpdateStats } from '../flow-grpo-trainer.js';
import type { GenerateResult } from '../generator.js';
import type { RemoteGenerator } from '../remote/remote-generator.js';
import { CheckFailure, pass, skip, type CheckContext, type CheckOutcome, type ConformanceCheck } from './check.js';

/** Tolerance of `onPolicyMaxRatioDeviation` right after sampling (log-probs recomputed as sampled). */
export const ON_POLICY_MAX_DEVIATION = 1e-4;
/** Tolerance of `|ratioMean − 1|` right after sampling. */
export const RATIO_MEAN_TOLERANCE = 1e-3;
/** Group size of the checks' rollouts. */
const G = 2;

// ---- helpers ----

function ensure(condition: boolean, reason: string): asserts condition {
  if (!condition) throw new CheckFailure(reason);
}

/** The worker's own code for a rejection (an unknown worker code is kept in `details.workerCode`). */
function codeOf(error: unknown): string {
  if (isVrGrpoError(error)) {
    const workerCode = error.details.workerCode;
    return typeof workerCode === 'string' ? workerCode : error.code;
  }
  return error instanceof Error ? `${error.name}: ${error.message}` : String(error);
}

/** The code `promise` rejects with; a CheckFailure when it resolves or rejects with a code not in `codes`. */
async function rejectsWith(promise: Promise<unknown>, codes: readonly string[], what: string): Promise<string> {
  let code: string;
  try {
    await promise;
  } catch (error) {
    code = codeOf(error);
    ensure(codes.includes(code), `${what}: expected ${codes.join(' or ')}, got ${code}${error instanceof Error ? ` (${error.message})` : ''}`);
    return code;
  }
  throw new CheckFailure(`${what}: accepted, expected ${codes.join(' or ')}`);
}

function notTrainable(ctx: CheckContext): CheckOutcome | null {
  return ctx.remote.trainable ? null : skip('the worker is not trainable (hello.trainable false)');
}

function framesEqual(a: GenerateResult, b: GenerateResult): boolean {
  if (a.videos.length !== b.videos.length) return false;
  return a.videos.every((v, i) => {
    const w = b.videos[i]?.video;
    if (w === undefined || isVideoFile(v.video) || isVideoFile(w)) return false;
    return Buffer.from(v.video.data.buffer, v.video.data.byteOffset, v.video.data.byteLength).equals(
      Buffer.from(w.data.buffer, w.data.byteOffset, w.data.byteLength),
    );
  });
}

/** A rollout of `prompts` × G (inline), tracked for discarding. */
async function rollout(ctx: CheckContext, seed: number, prompts: readonly string[] = ctx.prompts.slice(0, 1), remote: RemoteGenerator = ctx.remote) {
  const result = await remote.generate({ prompts, groupSize: G, seed });
  if (remote === ctx.remote) ctx.track(result.rolloutId);
  return result;
}

function alternating(n: number): number[] {
  return Array.from({ length: n }, (_, i) => (i % 2 === 0 ? 1 : -1));
}

/** The served policy's digest and update count now (status). */
async function policyNow(remote: RemoteGenerator): Promise<{ digest: string | null; updates: number | null }> {
  const s = await remote.status();
  return { digest: s.policyDigest, updates: s.policyUpdates };
}

/** The digest after an update: from `update_result`, else from `status`. */
async function digestAfterUpdate(remote: RemoteGenerator): Promise<string | null> {
  return remote.lastPolicy?.policyDigest ?? (await remote.status()).policyDigest;
}

function finite(stats: UpdateStats, field: 'onPolicyMaxRatioDeviation' | 'ratioMean'): number {
  const v = stats[field];
  ensure(Number.isFinite(v), `update_result stats.${field} is ${String(v)} (not reported or not finite)`);
  return v;
}

function describeVideo(v: VideoHandle): string {
  return `${v.width}×${v.height}×${v.frameCount}@${v.fps}`;
}

async function waitUntilGone(path: string, timeoutMs: number): Promise<boolean> {
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    try {
      await stat(path);
    } catch {
      return true;
    }
    if (performance.now() > deadline) return false;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

// ---- the checks ----

const handshake: ConformanceCheck = {
  id: 'handshake',
  title: 'hello: protocol 2, generator name, trainable, sane features',
  run: ({ remote }) => {
    const h = remote.hello;
    ensure(h.protocol === 2, `hello.protocol is ${h.protocol}, expected 2`);
    ensure(h.generator.trim() !== '', 'hello.generator is blank');
    const { delivery, state, replay } = h.features;
    ensure(delivery.includes('inline'), `features.delivery ${JSON.stringify(delivery)} lacks 'inline'`);
    ensure(new Set(delivery).size === delivery.length, `features.delivery ${JSON.stringify(delivery)} repeats a mode`);
    if (delivery.includes('reference')) {
      ensure(
        h.artifactRoot !== null && isAbsolute(h.artifactRoot),
        `features.delivery has 'reference' but artifactRoot is ${JSON.stringify(h.artifactRoot)}, expected an absolute path`,
      );
    } else {
      ensure(h.artifactRoot === null, `artifactRoot ${h.artifactRoot ?? ''} announced without 'reference' delivery`);
    }
    ensure(h.trainable || (!state && !replay), 'features.state or features.replay announced by a worker that is not trainable');
    const features = [...delivery, ...(state ? ['state'] : []), ...(replay ? ['replay'] : [])].join(', ');
    return Promise.resolve(pass(`${h.generator} (${h.worker ?? 'worker unnamed'}), trainable ${String(h.trainable)}, features: ${features}`));
  },
};

const shape: ConformanceCheck = {
  id: 'shape',
  title: 'rollout: G videos per prompt, prompt-major p<i>-m<j> ids, one format, frames of the right length',
  run: async (ctx) => {
    const result = await rollout(ctx, 11, ctx.prompts);
    const n = ctx.prompts.length * G;
    ensure(result.videos.length === n, `${result.videos.length} videos for ${ctx.prompts.length} prompts × G ${G}, expected ${n}`);
    const first = result.videos[0]?.video;
    ensure(first !== undefined, 'no videos');
    result.videos.forEach((v, index) => {
      const p = Math.floor(index / G);
      const m = index % G;
      ensure(v.id === `p${p}-m${m}`, `video ${index} has id ${v.id}, expected p${p}-m${m} (prompt-major)`);
      ensure(v.promptIndex === p && v.member === m, `video ${index}: promptIndex ${v.promptIndex} member ${v.member}, expected ${p} ${m}`);
      ensure(v.prompt === ctx.prompts[p], `video ${index}: prompt ${JSON.stringify(v.prompt)}, expected ${JSON.stringify(ctx.prompts[p])}`);
      ensure(describeVideo(v.video) === describeVideo(first), `video ${index} is ${describeVideo(v.video)}, video 0 ${describeVideo(first)}`);
      ensure(!isVideoFile(v.video), `video ${index} came by reference in an inline rollout`);
      const bytes = v.video.width * v.video.height * 3 * v.video.frameCount;
      ensure(v.video.data.length === bytes, `video ${index}: ${v.video.data.length} bytes of frames, expected ${bytes}`);
    });
    await ctx.remote.discard([result.rolloutId]);
    return pass(`${n} videos of ${describeVideo(first)}`);
  },
};

const determinism: ConformanceCheck = {
  id: 'determinism',
  title: 'same seed → identical frames; another seed → different frames',
  run: async (ctx) => {
    const a = await rollout(ctx, 21);
    const b = await rollout(ctx, 21);
    const c = await rollout(ctx, 22);
    await ctx.remote.discard([a.rolloutId, b.rolloutId, c.rolloutId]);
    ensure(framesEqual(a, b), 'two rollouts with seed 21 gave different frames');
    ensure(!framesEqual(a, c), 'seeds 21 and 22 gave identical frames (the seed is ignored)');
    return pass();
  },
};

const onPolicyRatio: ConformanceCheck = {
  id: 'on-policy-ratio',
  title: `update right after sampling: onPolicyMaxRatioDeviation ≤ ${ON_POLICY_MAX_DEVIATION}, ratioMean ≈ 1`,
  run: async (ctx) => {
    const skipped = notTrainable(ctx);
    if (skipped !== null) return skipped;
    const r = await rollout(ctx, 31);
    const stats = await ctx.remote.update([{ rolloutId: r.rolloutId, advantages: alternating(r.videos.length) }]);
    const deviation = finite(stats, 'onPolicyMaxRatioDeviation');
    ensure(
      deviation <= ON_POLICY_MAX_DEVIATION,
      `onPolicyMaxRatioDeviation ${deviation} > ${ON_POLICY_MAX_DEVIATION}: log-probs recomputed at update differ from those at sampling`,
    );
    const ratioMean = finite(stats, 'ratioMean');
    ensure(Math.abs(ratioMean - 1) <= RATIO_MEAN_TOLERANCE, `ratioMean ${ratioMean}, expected 1 ± ${RATIO_MEAN_TOLERANCE}`);
    return pass(`deviation ${deviation.toExponential(2)}, ratioMean ${ratioMean.toFixed(6)}`);
  },
};

const updateChangesPolicy: ConformanceCheck = {
  id: 'update-changes-policy',
  title: 'an update changes the policy digest and the frames of a seed; policyUpdates +1',
  run: async (ctx) => {
    const skipped = notTrainable(ctx);
    if (skipped !== null) return skipped;
    const before = await policyNow(ctx.remote);
    const r = await rollout(ctx, 41);
    await ctx.remote.update([{ rolloutId: r.rolloutId, advantages: alternating(r.videos.length) }]);
    const digest = await digestAfterUpdate(ctx.remote);
    const updates = ctx.remote.lastPolicy?.policyUpdates ?? (await ctx.remote.status()).policyUpdates;
    const after = await rollout(ctx, 41);
    await ctx.remote.discard([after.rolloutId]);
    const notes: string[] = [];
    if (before.digest === null || digest === null) notes.push('no policy digest reported');
    else ensure(digest !== before.digest, `policyDigest unchanged by the update (${digest})`);
    if (before.updates === null || updates === null) notes.push('policyUpdates not counted');
    else ensure(updates === before.updates + 1, `policyUpdates went ${before.updates} → ${updates}, expected +1`);
    ensure(!framesEqual(r, after), 'a rollout with the same seed after the update gave identical frames');
    return pass(notes.length === 0 ? `policyUpdates ${String(before.updates)} → ${String(updates)}` : notes.join('; '));
  },
};

const maskedAdvantages: ConformanceCheck = {
  id: 'masked-advantages',
  title: 'null advantages are masked out (stats.videos = non-null count); all-null refused or 0 videos',
  run: async (ctx) => {
    const skipped = notTrainable(ctx);
    if (skipped !== null) return skipped;
    const r = await rollout(ctx, 51, ctx.prompts);
    const advantages = r.videos.map((_, i) => (i === 1 ? null : i % 2 === 0 ? 1 : -1));
    const expected = advantages.filter((a) => a !== null).length;
    const stats = await ctx.remote.update([{ rolloutId: r.rolloutId, advantages }]);
    ensure(stats.videos === expected, `stats.videos ${stats.videos} with ${expected} non-null advantages`);
    const all = await rollout(ctx, 52);
    let note: string;
    try {
      const s = await ctx.remote.update([{ rolloutId: all.rolloutId, advantages: all.videos.map(() => null) }]);
      ensure(s.videos === 0, `an all-null update reported stats.videos ${s.videos}, expected 0`);
      note = 'all-null update accepted with 0 videos';
    } catch (error) {
      if (error instanceof CheckFailure) throw error;
      note = `all-null update refused (${codeOf(error)})`;
      await ctx.remote.discard([all.rolloutId]);
    }
    return pass(note);
  },
};

const badHandles: ConformanceCheck = {
  id: 'bad-handles',
  title: 'unknown or foreign rollout handle → INVALID_ARGUMENT; wrong advantage count → INVALID_ARGUMENT / INVALID_REQUEST',
  run: async (ctx) => {
    const skipped = notTrainable(ctx);
    if (skipped !== null) return skipped;
    await rejectsWith(ctx.remote.update([{ rolloutId: 'conformance-no-such-rollout', advantages: [1] }]), ['INVALID_ARGUMENT'], 'an unknown rollout id');
    const other = await ctx.connect();
    const foreign = await rollout(ctx, 61, ctx.prompts.slice(0, 1), other);
    await rejectsWith(
      ctx.remote.update([{ rolloutId: foreign.rolloutId, advantages: alternating(foreign.videos.length) }]),
      ['INVALID_ARGUMENT'],
      "another connection's rollout id",
    );
    await other.discard([foreign.rolloutId]);
    const own = await rollout(ctx, 62);
    const code = await rejectsWith(
      ctx.remote.update([{ rolloutId: own.rolloutId, advantages: alternating(own.videos.length + 1) }]),
      ['INVALID_ARGUMENT', 'INVALID_REQUEST'],
      `${own.videos.length + 1} advantages for ${own.videos.length} videos`,
    );
    await ctx.remote.discard([own.rolloutId]);
    return pass(`wrong count → ${code}`);
  },
};

const nonFiniteAdvantage: ConformanceCheck = {
  id: 'non-finite-advantage',
  title: 'an advantage of 1e999 (JSON) → INVALID_REQUEST',
  run: async (ctx) => {
    const skipped = notTrainable(ctx);
    if (skipped !== null) return skipped;
    const peer = await ctx.raw();
    const rolled = await peer.request(
      { type: 'rollout', id: 'nf-rollout', prompts: ctx.prompts.slice(0, 1), groupSize: G, seed: 71 },
      'nf-rollout',
      ctx.timeoutMs,
    );
    ensure(rolled.type === 'rollout_result', `rollout answered with ${rolled.type}${rolled.type === 'error' ? ` ${rolled.code}` : ''}`);
    const advantages = Array.from({ length: rolled.videos.length }, (_, i) => (i === 0 ? '1e999' : '0.5')).join(',');
    const answer = await peer.request(
      `{"type":"update","id":"nf-update","rollouts":[{"rolloutId":${JSON.stringify(rolled.rolloutId)},"advantages":[${advantages}]}]}`,
      'nf-update',
      ctx.timeoutMs,
    );
    ensure(answer.type === 'error', `an update with 1e999 was answered with ${answer.type}, expected error INVALID_REQUEST`);
    ensure(answer.code === 'INVALID_REQUEST', `an update with 1e999: ${answer.code} (${answer.message}), expected INVALID_REQUEST`);
    await peer.request({ type: 'discard', id: 'nf-discard', rolloutIds: [rolled.rolloutId] }, 'nf-discard', ctx.timeoutMs);
    return pass();
  },
};

const badMessages: ConformanceCheck = {
  id: 'bad-messages',
  title: 'not JSON → BAD_MESSAGE, unknown type → UNKNOWN_TYPE, schema violation → INVALID_REQUEST, binary → BAD_MESSAGE; still open',
  run: async (ctx) => {
    const peer = await ctx.raw();
    const expectError = async (send: () => void, code: string, what: string, id: string | null): Promise<void> => {
      send();
      const m = await peer.next((x) => x.type === 'error' && (id === null || x.id === id), `an error for ${what}`, ctx.timeoutMs);
      ensure(m.type === 'error' && m.code === code, `${what}: ${m.type === 'error' ? `${m.code} (${m.message})` : m.type}, expected ${code}`);
    };
    await expectError(() => peer.sendText('this is {not json'), 'BAD_MESSAGE', 'a text message that is not JSON', null);
    await expectError(() => peer.sendText(JSON.stringify({ type: 'frobnicate', id: 'bm-unknown' })), 'UNKNOWN_TYPE', 'an unknown type', null);
    await expectError(
      () => peer.sendText(JSON.stringify({ type: 'rollout', id: 'bm-invalid', prompts: [], groupSize: 0, seed: 1.5 })),
      'INVALID_REQUEST',
      'a rollout violating the schema',
      null,
    );
    await expectError(() => peer.sendBinary(new Uint8Array([1, 2, 3, 4])), 'BAD_MESSAGE', 'a binary message', null);
    ensure(peer.isOpen, 'the worker closed the connection after the bad messages');
    const pong = await peer.request({ type: 'ping', id: 'bm-ping', t: 1 }, 'bm-ping', ctx.timeoutMs);
    ensure(pong.type === 'pong', `a ping after the bad messages was answered with ${pong.type}`);
    return pass();
  },
};

const pingWhileBusy: ConformanceCheck = {
  id: 'ping-while-busy',
  title: 'a ping on another connection is answered while a rollout runs',
  run: async (ctx) => {
    const other = await ctx.connect();
    let rolloutDone = false;
    const big = ctx.remote.generate({ prompts: ctx.prompts, groupSize: 4, seed: 81 }).then(
      (r) => {
        rolloutDone = true;
        ctx.track(r.rolloutId);
        return r;
      },
      (error: unknown) => {
        rolloutDone = true;
        throw error;
      },
    );
    try {
      // Wait (bounded) until the worker holds the rollout, so the ping really races it.
      const deadline = performance.now() + Math.min(ctx.timeoutMs / 2, 10_000);
      while ((await other.status()).queued === 0 && !rolloutDone && performance.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 5));
      if (rolloutDone) return skip('the rollout finished before the worker reported it queued (too fast to race a ping)');
      const ms = await other.ping();
      ensure(!rolloutDone, `the ping (${ms.toFixed(0)} ms) was answered only after the rollout finished`);
      return pass(`ping ${ms.toFixed(1)} ms during the rollout`);
    } finally {
      const r = await big.catch(() => null);
      if (r !== null) await ctx.remote.discard([r.rolloutId]);
    }
  },
};

const JUDGE_COPY = { frameCount: 4, width: 32, height: 32 } as const;

const referenceDelivery: ConformanceCheck = {
  id: 'reference-delivery',
  title: 'reference delivery: MP4s under artifactRoot of the announced format, judge copy, removed on discard',
  run: async (ctx) => {
    const { features, artifactRoot } = ctx.remote.hello;
    if (!features.delivery.includes('reference') || artifactRoot === null) return skip("features.delivery does not announce 'reference'");
    try {
      await stat(artifactRoot);
    } catch {
      return skip(`artifactRoot ${artifactRoot} is not visible from this machine (run the check where the shared volume is mounted)`);
    }
    const media = await Media.create();
    const inline = await rollout(ctx, 91);
    await ctx.remote.discard([inline.rolloutId]);
    const r = await ctx.remote.generate({ prompts: ctx.prompts.slice(0, 1), groupSize: G, seed: 91, delivery: { mode: 'reference', judgeCopy: JUDGE_COPY } });
    ctx.track(r.rolloutId);
    const files: string[] = [];
    for (const [index, v] of r.videos.entries()) {
      const ref = v.video;
      ensure(isVideoFile(ref), `video ${index} came inline in a reference rollout`);
      const expected = inline.videos[index]?.video;
      ensure(
        expected !== undefined && describeVideo(ref) === describeVideo(expected),
        `video ${index}: video_ref says ${describeVideo(ref)}, the inline rollout ${expected === undefined ? 'has none' : describeVideo(expected)}`,
      );
      for (const [what, uri] of [
        ['video', ref.uri],
        ['judge copy', ref.judge?.uri],
      ] as const) {
        if (uri === undefined) continue;
        const file = fileURLToPath(uri);
        const rel = relative(artifactRoot, file);
        ensure(rel !== '' && !rel.startsWith('..') && !isAbsolute(rel), `video ${index}: ${what} ${file} is not under artifactRoot ${artifactRoot}`);
        files.push(file);
      }
      const size = (await stat(fileURLToPath(ref.uri))).size;
      ensure(size === ref.bytes, `video ${index}: the file has ${size} bytes, video_ref says ${ref.bytes}`);
      const info = await media.probe(fileURLToPath(ref.uri));
      ensure(
        info.width === ref.width && info.height === ref.height && info.frameCount === ref.frameCount,
        `video ${index}: the MP4 is ${info.width}×${info.height}×${info.frameCount}, video_ref says ${ref.width}×${ref.height}×${ref.frameCount}`,
      );
      ensure(ref.judge !== null, `video ${index}: no judge copy although one was asked for`);
      const judge = await media.probe(fileURLToPath(ref.judge.uri));
      const want = `${JUDGE_COPY.width}×${JUDGE_COPY.height}×${JUDGE_COPY.frameCount}`;
      ensure(
        `${judge.width}×${judge.height}×${judge.frameCount}` === want,
        `video ${index}: the judge copy is ${judge.width}×${judge.height}×${judge.frameCount}, asked for ${want}`,
      );
    }
    await ctx.remote.discard([r.rolloutId]);
    for (const file of files) ensure(await waitUntilGone(file, 2_000), `${file} still exists after the rollout was discarded`);
    return pass(`${files.length} files checked`);
  },
};

const saveRestore: ConformanceCheck = {
  id: 'save-restore',
  title: 'save → update → restore gives back the digest and policyUpdates; a bogus ref → CHECKPOINT_NOT_FOUND / FORBIDDEN_PATH',
  run: async (ctx) => {
    const { saveState, restoreState } = ctx.remote;
    if (saveState === undefined || restoreState === undefined) return skip('features.state is not announced');
    const saved = await saveState('vrgrpo-conformance-save');
    const r = await rollout(ctx, 101);
    await ctx.remote.update([{ rolloutId: r.rolloutId, advantages: alternating(r.videos.length) }]);
    const changed = await digestAfterUpdate(ctx.remote);
    const restored = await restoreState(saved.ref);
    ensure(restored.policyDigest === saved.policyDigest, `restore gave digest ${String(restored.policyDigest)}, saved ${String(saved.policyDigest)}`);
    ensure(
      restored.policyUpdates === saved.policyUpdates,
      `restore gave policyUpdates ${String(restored.policyUpdates)}, saved ${String(saved.policyUpdates)}`,
    );
    const now = await policyNow(ctx.remote);
    ensure(now.digest === saved.policyDigest, `status after restore: digest ${String(now.digest)}, saved ${String(saved.policyDigest)}`);
    if (saved.policyDigest !== null) ensure(changed !== saved.policyDigest, 'the update between save and restore did not change the digest');
    const code = await rejectsWith(restoreState('vrgrpo-conformance-no-such-state'), ['CHECKPOINT_NOT_FOUND', 'FORBIDDEN_PATH'], 'restore of a bogus ref');
    return pass(`bogus ref → ${code}`);
  },
};

const replay: ConformanceCheck = {
  id: 'replay',
  title: 'an update by replay of a rollout gives the same digest as the update by its handle',
  run: async (ctx) => {
    if (!ctx.remote.replays) return skip('features.replay is not announced');
    const { saveState, restoreState } = ctx.remote;
    if (saveState === undefined || restoreState === undefined) return skip('features.state is not announced (needed to return to the same starting point)');
    const start = await saveState('vrgrpo-conformance-replay');
    if (start.policyDigest === null) return skip('the worker reports no policy digest');
    const prompts = ctx.prompts.slice(0, 1);
    const r = await rollout(ctx, 111, prompts);
    const advantages = alternating(r.videos.length);
    await ctx.remote.update([{ rolloutId: r.rolloutId, advantages }]);
    const byHandle = await digestAfterUpdate(ctx.remote);
    await restoreState(start.ref);
    await ctx.remote.update([], [{ prompts, groupSize: G, seed: 111, advantages }]);
    const byReplay = await digestAfterUpdate(ctx.remote);
    ensure(byHandle !== null && byReplay !== null, 'no policy digest after the updates');
    ensure(byHandle !== start.policyDigest, 'the update by handle did not change the digest');
    ensure(byReplay === byHandle, `digest by replay ${byReplay} ≠ digest by handle ${byHandle}`);
    return pass();
  },
};

/** Every check, in the order they run. */
export const CONFORMANCE_CHECKS: readonly ConformanceCheck[] = Object.freeze([
  handshake,
  shape,
  determinism,
  onPolicyRatio,
  updateChangesPolicy,
  maskedAdvantages,
  badHandles,
  nonFiniteAdvantage,
  badMessages,
  pingWhileBusy,
  referenceDelivery,
  saveRestore,
  replay,
]);
