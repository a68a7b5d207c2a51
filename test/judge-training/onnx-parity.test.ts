/**
 * The exported ONNX policy (checkpoint → onnxruntime) against the tfjs network it came from, on the same observations
 * (real ones recorded by the judge engine, and random ones): same logits to float32 rounding, the same greedy and
 * seeded sampled actions, log-probabilities within float tolerance. A different network is told apart.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Rng } from '../../src/common/rng.js';
import {
  ANSWER_MODES,
  FEATURE_SIZE,
  JsPolicy,
  OnnxPolicy,
  POLICY_HEADS,
  actionLogProb,
  decodeAction,
  readLearnedCheckpoint,
  type ActionContext,
  type PolicyAction,
  type PolicyLogits,
} from '../../src/judge/backends/learned/index.js';
import { encodeSteps, PolicyNet, type PolicyStep } from '../../src/judge-training/policy-net.js';
import { fitImitation, jsPolicyOf, perceptionRef, policyTraces, saveStageCheckpoint, teacherTraces } from '../../src/judge-training/index.js';
import { chooseTensorBackend, scoped } from '../../src/tensor/index.js';
import { RM_V2, worldTrainingData } from './fixtures.js';

const root = mkdtempSync(join(tmpdir(), 'vrgrpo-jt-onnx-'));
const nets: PolicyNet[] = [];
const sessions: OnnxPolicy[] = [];
let observations: Float32Array[] = [];

/** The checkpoint's ONNX policy of `net`, loaded from disk through the manifest checks. */
async function served(net: PolicyNet, name: string): Promise<OnnxPolicy> {
  const dir = join(root, name);
  saveStageCheckpoint(dir, {
    stage: 'cold-start',
    version: name,
    net,
    answerMode: 'per-dimension',
    maxToolCalls: 3,
    perception: perceptionRef(RM_V2),
    parent: null,
    training: {},
    summary: {},
    metrics: {},
  });
  const ck = readLearnedCheckpoint(dir);
  const policy = await OnnxPolicy.create(ck.policyBytes);
  sessions.push(policy);
  return policy;
}

beforeAll(async () => {
  await chooseTensorBackend('auto');
  const data = await worldTrainingData(6, 2, 31);
  // A trained network (a few epochs of imitation of the teacher) and an untrained one.
  const teacher = await teacherTraces(data.cache, data.train, { answerMode: 'per-dimension' });
  const trained = PolicyNet.create({ hidden: [32, 16] }, 1);
  fitImitation(
    trained,
    teacher.flatMap((t) => t.steps),
    { epochs: 20, batchSize: 8, learningRate: 0.01, seed: 2 },
  );
  const fresh = PolicyNet.create({ hidden: [24] }, 9);
  nets.push(trained, fresh);
  const sampled = await policyTraces(jsPolicyOf(trained), data.cache, data.train, {
    answerMode: 'per-dimension',
    decoding: { kind: 'sample', rng: Rng.fromSeed(4) },
    samplesPerPair: 3,
  });
  const rng = Rng.fromSeed(5);
  const random = Array.from({ length: 40 }, () => Float32Array.from(rng.normals(FEATURE_SIZE), (x) => Math.max(-3, Math.min(3, 1.5 * x))));
  observations = [...teacher.flatMap((t) => t.steps.map((s) => s.features)), ...sampled.flatMap((t) => t.steps.map((s) => s.features)), ...random];
});

afterAll(async () => {
  await Promise.allSettled(sessions.map((s) => s.close()));
  for (const n of nets) n.dispose();
  rmSync(root, { recursive: true, force: true });
});

const CONTEXTS: readonly ActionContext[] = ANSWER_MODES.flatMap((answerMode) => [true, false].map((selectAllowed) => ({ selectAllowed, answerMode })));

function rows(obs: readonly Float32Array[]): Float32Array {
  const out = new Float32Array(obs.length * FEATURE_SIZE);
  obs.forEach((o, i) => out.set(o, i * FEATURE_SIZE));
  return out;
}

/** tfjs log-probabilities of actions taken under contexts (the training loss's quantity). */
function tfLogProbs(net: PolicyNet, steps: readonly PolicyStep[]): number[] {
  return scoped(() => Array.from(net.stepLogProbs(encodeSteps(steps)).dataSync()));
}

const maxLogitGap = (a: PolicyLogits, b: PolicyLogits): number =>
  Math.max(...POLICY_HEADS.flatMap((h) => Array.from(a[h.name], (x, i) => Math.abs(x - (b[h.name][i] ?? NaN)))));

describe('exported ONNX policy vs tfjs', () => {
  it('has enough real observations of both kinds of turn', () => {
    expect(observations.length).toBeGreaterThanOrEqual(50);
    expect(observations.every((o) => o.length === FEATURE_SIZE)).toBe(true);
  });

  for (const [k, label] of [
    [0, 'trained'],
    [1, 'untrained'],
  ] as const) {
    it(`${label}: same logits, the same greedy and sampled actions, log-probabilities within 1e-4`, async () => {
      const net = nets[k];
      if (net === undefined) throw new Error('no net');
      const onnx = await served(net, `${label}-policy`);
      const js = JsPolicy.fromSpec(net.toMlpSpec({ version: 'js' }));
      const fromOnnx = await onnx.evaluateBatch(rows(observations), observations.length);
      const fromTf = net.predict(rows(observations), observations.length);
      const steps: PolicyStep[] = [];
      const onnxLp: number[] = [];
      let selects = 0;
      observations.forEach((features, i) => {
        const lo = fromOnnx[i];
        const lt = fromTf[i];
        if (lo === undefined || lt === undefined) throw new Error(`no logits for observation ${i}`);
        expect(maxLogitGap(lo, lt)).toBeLessThan(1e-4);
        expect(maxLogitGap(js.evaluateSync(features), lt)).toBeLessThan(1e-4);
        CONTEXTS.forEach((context, c) => {
          const greedy = decodeAction(lo, context, { kind: 'greedy' });
          expect(greedy).toEqual(decodeAction(lt, context, { kind: 'greedy' }));
          const seed = 1000 * i + c;
          const sampled: PolicyAction = decodeAction(lo, context, { kind: 'sample', rng: Rng.fromSeed(seed) });
          expect(sampled).toEqual(decodeAction(lt, context, { kind: 'sample', rng: Rng.fromSeed(seed) }));
          for (const action of [greedy, sampled]) {
            if (action.kind === 'select') selects += 1;
            steps.push({ features, context, action });
            onnxLp.push(actionLogProb(lo, action, context));
          }
        });
      });
      expect(selects).toBeGreaterThan(0);
      const tfLp = tfLogProbs(net, steps);
      const worst = Math.max(...onnxLp.map((lp, i) => Math.abs(lp - (tfLp[i] ?? NaN))));
      expect(worst).toBeLessThan(1e-4);
    });
  }

  it('tells a different network apart (the comparison has power)', async () => {
    const [trained, fresh] = nets;
    if (trained === undefined || fresh === undefined) throw new Error('no nets');
    const other = await served(fresh, 'other-policy');
    const fromOther = await other.evaluateBatch(rows(observations), observations.length);
    const fromTf = trained.predict(rows(observations), observations.length);
    const context: ActionContext = { selectAllowed: true, answerMode: 'per-dimension' };
    const differ = observations.filter((_, i) => {
      const a = fromOther[i];
      const b = fromTf[i];
      return (
        a !== undefined &&
        b !== undefined &&
        JSON.stringify(decodeAction(a, context, { kind: 'greedy' })) !== JSON.stringify(decodeAction(b, context, { kind: 'greedy' }))
      );
    });
    expect(differ.length).toBeGreaterThan(observations.length / 4);
  });
});
