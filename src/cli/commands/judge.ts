/** `vr-grpo judge`: judge one video (pointwise) or two (pairwise) in-process or through a reward server. */
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Command } from 'commander';
import { FileFrameSource } from '../../judge/frame-source.js';
import type { Turn, VerdictMessage } from '../../protocol/index.js';
import { RewardServerClient } from '../../reward-client/index.js';
import { UsageError, commandContext, intOption, media } from '../context.js';
import { configuredJudgeService } from '../in-process-judge.js';

interface JudgeFlags {
  config?: string;
  prompt: string;
  video: string[];
  server?: string;
  token?: string;
  json?: boolean;
  trace?: boolean;
  bothOrders?: boolean;
  maxToolCalls?: string;
  checkpoint?: string;
  record?: string;
}

function printReadable(v: VerdictMessage, turns: readonly Turn[], trace: boolean): void {
  const w = (s: string): boolean => process.stdout.write(`${s}\n`);
  if (trace) {
    for (const t of turns) {
      w(`--- ${t.role} turn ${t.index}${t.framesShown.length > 0 ? ` (images: ${t.framesShown.join(', ')})` : ''}`);
      w(t.text);
    }
    w('---');
  }
  w(
    `rm ${v.rmVersion} · ${v.mode} · ${v.toolCalls} tool call(s) · frames viewed ${v.framesViewed.map((f) => f.length).join(' + ')} · ${v.timing.totalMs.toFixed(0)} ms${v.forced ? ' · forced' : ''}`,
  );
  if (v.answer !== null) {
    const a = v.answer;
    const word = (p: number | undefined): string => (p === undefined ? 'not given' : p === 0 ? 'tie' : `video ${p}`);
    w(
      `TA ${word(a.TA)} · MQ ${word(a.MQ)} · VQ ${word(a.VQ)} · overall ${word(a.OA)} · confidence ${a.CF === undefined ? 'not given' : `${a.CF} (1 high … 3 low)`}`,
    );
  }
  const num = (x: number | undefined): string => (x === undefined ? 'not given' : x.toFixed(2));
  v.scores.forEach((s, i) => w(`video ${i + 1}: TA ${num(s.TA)} MQ ${num(s.MQ)} VQ ${num(s.VQ)} overall ${num(s.overall)}`));
  for (const h of v.hallucinations) w(`hallucination: ${h.kind} — ${h.detail}`);
}

export function registerJudge(program: Command): void {
  program
    .command('judge')
    .description('judge videos against a prompt: one video = pointwise scores, two = pairwise VR-Thinker verdict')
    .requiredOption('--prompt <text>', 'the caption the videos were generated from')
    .option('--video <file>', 'a video file (repeat for the second video)', (v: string, prev: string[]) => [...prev, v], [] as string[])
    .option('--server <url>', 'judge through a reward server (ws://…) instead of in-process')
    .option('--token <token>', 'bearer token for --server (default: VRGRPO_TOKEN)')
    .option('--json', 'print the verdict as JSON')
    .option('--trace', 'print the reasoning turns')
    .option('--both-orders', 'pairwise: judge both orders and reconcile')
    .option('--max-tool-calls <n>', 'select_frames calls allowed')
    .option('--checkpoint <dir>', 'judge checkpoint for in-process judging: a perception or a learned-judge folder (default: judge.checkpoint)')
    .option('--record <dir>', 'judge.backend vlm, in-process: write every request and response to this folder (frames as files; docs/vlm.md)')
    .option('--config <file>', 'config file')
    .action(async (flags: JudgeFlags) => {
      const ctx = commandContext(flags.config);
      if (flags.record !== undefined && flags.server !== undefined) {
        throw new UsageError('--record: records the VLM backend in-process, not through --server (a reward server records with serve-reward --record)');
      }
      if (flags.video.length < 1 || flags.video.length > 2) throw new UsageError('--video: give one video (pointwise) or two (pairwise)');
      const mode = flags.video.length === 2 ? 'pairwise' : 'pointwise';
      const maxToolCalls = intOption('--max-tool-calls', flags.maxToolCalls, 0);
      const options = {
        trace: true,
        stream: flags.server !== undefined && flags.trace === true,
        ...(flags.bothOrders === true ? { bothOrders: true } : {}),
        ...(maxToolCalls === undefined ? {} : { maxToolCalls }),
      };
      const paths = flags.video.map((v) => resolve(v));
      let verdict: VerdictMessage;
      if (flags.server !== undefined) {
        const token = flags.token ?? process.env.VRGRPO_TOKEN;
        const client = await RewardServerClient.connect(flags.server, token === undefined ? {} : { token });
        try {
          verdict = await client.judge({ id: 'cli-1', prompt: flags.prompt, mode, videos: paths.map((p) => ({ uri: pathToFileURL(p).href })), options });
        } finally {
          await client.close();
        }
      } else {
        const m = await media(ctx);
        const judge = await configuredJudgeService(ctx, {
          ...(flags.checkpoint === undefined ? {} : { checkpoint: flags.checkpoint }),
          ...(flags.record === undefined ? {} : { record: flags.record }),
        });
        try {
          const j = await judge.judge({ id: 'cli-1', prompt: flags.prompt, mode, videos: paths.map((p) => new FileFrameSource(m, p)), options }, {});
          verdict = { type: 'verdict', id: 'cli-1', ...j };
        } finally {
          await judge.close();
        }
      }
      const turns = verdict.turns ?? [];
      if (flags.json === true) {
        const out = flags.trace === true ? verdict : { ...verdict, turns: undefined };
        process.stdout.write(`${JSON.stringify(out, null, 2)}\n`);
      } else printReadable(verdict, turns, flags.trace === true);
    });
}
