/**
 * `vr-grpo eval-judge`: the judge's pairwise accuracy on a released video-preference benchmark (VideoGen-RewardBench,
 * GenAI-Bench video generation), overall and per dimension, with and without ties ([docs/eval-judge.md]).
 */
import { pathToFileURL } from 'node:url';
import type { Command } from 'commander';
import {
  ANNOTATION_FORMATS,
  BENCHMARK_IDS,
  BENCHMARK_TITLES,
  MAX_EVAL_CONCURRENCY,
  evaluateBenchmark,
  pairwiseAnswer,
  servicePairJudge,
  formatReport,
  loadBenchmark,
  realDataDir,
  resolvePairs,
  type AnnotationFormat,
  type BenchmarkId,
  type Evaluation,
  type PairJudge,
} from '../../judge/benchmarks/index.js';
import type { Media } from '../../media/index.js';
import type { JudgeOptions } from '../../protocol/index.js';
import { RewardServerClient } from '../../reward-client/index.js';
import { UsageError, commandContext, intOption, media, type CommandContext } from '../context.js';
import { configuredJudgeService } from '../in-process-judge.js';
import { createProgress } from '../progress.js';

interface EvalJudgeFlags {
  config?: string;
  bench: string;
  data: string;
  file?: string;
  format?: string;
  videoDir?: string;
  limit?: string;
  concurrency?: string;
  json?: boolean;
  server?: string;
  token?: string;
  checkpoint?: string;
  maxToolCalls?: string;
  bothOrders?: boolean;
}

/** Default pairs judged at once. */
export const DEFAULT_EVAL_CONCURRENCY = 2;

/** A judge for the pairs and how to let go of it. */
interface PairJudgeHandle {
  readonly judge: PairJudge;
  /** For the report heading: backend and judge version. */
  readonly description: string;
  close(): Promise<void>;
}

/** In-process: the configured backend (embedded checkpoint, or the VLM server of `judge.backend: vlm`) on decoded files. */
async function inProcessJudge(ctx: CommandContext, flags: EvalJudgeFlags, options: JudgeOptions): Promise<PairJudgeHandle> {
  const service = await configuredJudgeService(ctx, flags.checkpoint === undefined ? {} : { checkpoint: flags.checkpoint });
  let m: Media;
  try {
    m = await media(ctx);
  } catch (error) {
    await service.close();
    throw error;
  }
  return { description: `${service.backendName} ${service.rmVersion()}`, judge: servicePairJudge(service, m, options), close: () => service.close() };
}

/** Through a reward server: the videos travel as file:// URIs, so the data folder must lie under its artifact root. */
async function serverJudge(url: string, token: string | undefined, options: JudgeOptions): Promise<PairJudgeHandle> {
  const client = await RewardServerClient.connect(url, token === undefined ? {} : { token });
  return {
    description: `${url} (${client.hello.backend} ${client.rmVersion})`,
    judge: async (pair, files) => {
      const v = await client.judge({ id: pair.id, prompt: pair.prompt, mode: 'pairwise', videos: files.map((f) => ({ uri: pathToFileURL(f).href })), options });
      return pairwiseAnswer(v.answer, pair.id);
    },
    close: () => client.close(),
  };
}

function oneOf<T extends string>(name: string, value: string | undefined, allowed: readonly T[]): T | undefined {
  if (value === undefined) return undefined;
  if (!(allowed as readonly string[]).includes(value)) throw new UsageError(`${name}: expected one of ${allowed.join(', ')}, got ${JSON.stringify(value)}`);
  return value as T;
}

export function registerEvalJudge(program: Command): void {
  program
    .command('eval-judge')
    .description('pairwise accuracy of the judge on a video-preference benchmark (overall and per dimension, with and without ties)')
    .requiredOption('--bench <name>', `benchmark: ${BENCHMARK_IDS.join(' | ')}`)
    .requiredOption('--data <dir>', 'the benchmark folder: its annotation file and videos (video paths must stay inside it)')
    .option('--file <name>', 'annotation file, relative to --data (default: videogen-rewardbench.csv | video_generation.jsonl/.json/.csv)')
    .option('--format <fmt>', `annotation format: ${ANNOTATION_FORMATS.join(' | ')} (default: from the extension)`)
    .option('--video-dir <dir>', 'genai-bench: folder under --data holding the videos given as URLs, by file name (default: videos)')
    .option('--limit <n>', 'judge only the first N pairs of the file')
    .option('--concurrency <n>', `pairs judged at once (default: ${DEFAULT_EVAL_CONCURRENCY}, at most ${MAX_EVAL_CONCURRENCY})`)
    .option('--max-tool-calls <n>', 'select_frames calls allowed per judgment (default: judge.maxToolCalls)')
    .option('--both-orders', 'judge each pair in both orders and reconcile (a preference that does not swap becomes a tie)')
    .option('--json', "print the report and every pair's outcome as JSON")
    .option('--server <url>', 'judge through a reward server (ws://…) instead of in-process')
    .option('--token <token>', 'bearer token for --server (default: VRGRPO_TOKEN)')
    .option('--checkpoint <dir>', 'embedded judge checkpoint for in-process judging (default: judge.checkpoint)')
    .option('--config <file>', 'config file')
    .action(async (flags: EvalJudgeFlags) => {
      const ctx = commandContext(flags.config);
      const bench = oneOf<BenchmarkId>('--bench', flags.bench, BENCHMARK_IDS);
      if (bench === undefined) throw new UsageError(`--bench: required (${BENCHMARK_IDS.join(', ')})`);
      const format = oneOf<AnnotationFormat>('--format', flags.format, ANNOTATION_FORMATS);
      const limit = intOption('--limit', flags.limit, 1);
      const concurrency = intOption('--concurrency', flags.concurrency, 1) ?? DEFAULT_EVAL_CONCURRENCY;
      if (concurrency > MAX_EVAL_CONCURRENCY) throw new UsageError(`--concurrency: expected integer <= ${MAX_EVAL_CONCURRENCY}, got ${concurrency}`);
      const maxToolCalls = intOption('--max-tool-calls', flags.maxToolCalls, 0);
      if (flags.server !== undefined && flags.checkpoint !== undefined)
        throw new UsageError('--checkpoint: not used with --server (the server serves its own judge)');

      // Everything about the data is checked before a judge is started: the file parses, every video stays inside --data.
      const root = realDataDir(flags.data);
      const loaded = loadBenchmark({
        bench,
        dataDir: root,
        ...(flags.file === undefined ? {} : { file: flags.file }),
        ...(format === undefined ? {} : { format }),
        ...(flags.videoDir === undefined ? {} : { urlDir: flags.videoDir }),
      });
      const pairs = resolvePairs(root, limit === undefined ? loaded.pairs : loaded.pairs.slice(0, limit));

      const options: JudgeOptions = {
        ...(maxToolCalls === undefined ? {} : { maxToolCalls }),
        ...(flags.bothOrders === true ? { bothOrders: true } : {}),
      };
      const handle =
        flags.server !== undefined
          ? await serverJudge(flags.server, flags.token ?? process.env.VRGRPO_TOKEN, options)
          : await inProcessJudge(ctx, flags, options);
      const started = performance.now();
      const progress = createProgress(pairs.length, 'eval-judge [{bar}] {value}/{total} failures {failures} | ETA {eta_formatted}', ctx.log);
      let failures = 0;
      let evaluation: Evaluation;
      try {
        evaluation = await evaluateBenchmark(pairs, {
          judge: handle.judge,
          concurrency,
          onPair: (r, done) => {
            if (r.outcome.kind === 'failed') {
              failures += 1;
              ctx.log.warn({ pair: r.id, code: r.outcome.code, message: r.message }, 'judgment failed');
            }
            progress.update(done, { failures });
          },
        });
      } finally {
        progress.stop();
        await handle.close();
      }
      const seconds = (performance.now() - started) / 1000;
      if (flags.json === true) {
        const out = { bench, file: loaded.file.path, judge: handle.description, seconds, report: evaluation.report, pairs: evaluation.results };
        process.stdout.write(`${JSON.stringify(out, null, 2)}\n`);
        return;
      }
      const lines = formatReport(evaluation.report, { bench: BENCHMARK_TITLES[bench], file: loaded.file.path, judge: handle.description, seconds });
      process.stdout.write(`${lines.join('\n')}\n`);
    });
}
