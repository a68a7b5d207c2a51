/** `vr-grpo train`: the GRPO training job (what `npm start` runs on the embedded default). */
import { join, relative, resolve } from 'node:path';
import type { Command } from 'commander';
import type { Config } from '../../config/index.js';
import { LEARNED_FORMAT, checkpointFormat } from '../../judge/backends/learned/index.js';
import type { RunSummary, StepMetrics } from '../../coordinator/coordinator.js';
import { TrainingJob } from '../../job/index.js';
import { commandContext, intOption, media, tensorBackend } from '../context.js';
import { createProgress } from '../progress.js';

interface TrainFlags {
  config?: string;
  steps?: string;
  runDir?: string;
  resume?: string;
  generator?: string;
  metricsPort?: string;
}

/** What judged the run: the versions seen, and for local reward servers which kind of judge the checkpoint is. */
function judgeLine(s: RunSummary, config: Config): string {
  const versions = s.judging.rmVersions.length === 0 ? 'none' : s.judging.rmVersions.join(', ');
  if (config.reward.servers.length > 0) return `judge: ${versions} (remote reward servers)`;
  if (config.judge.backend === 'vlm') return `judge: ${versions} (VR-Thinker-style VLM at ${config.judge.vlm.baseUrl ?? '?'})`;
  const dir = config.judge.checkpoint;
  const kind = checkpointFormat(dir) === LEARNED_FORMAT ? 'learned judge: trained frame-selection policy over' : 'rule-based embedded judge over';
  return `judge: ${versions} (${kind} its perception model; ${relative(process.cwd(), dir) || dir})`;
}

function printSummary(s: RunSummary, config: Config): void {
  const w = (line: string): boolean => process.stdout.write(`${line}\n`);
  const f = (x: number | undefined | null): string => (x === undefined || x === null || !Number.isFinite(x) ? '   —  ' : x.toFixed(3).padStart(6));
  w('');
  w(`GRPO run: steps ${s.firstStep}–${s.firstStep + s.steps - 1} in ${s.seconds.toFixed(0)} s`);
  w('                         before    after');
  w(`held-out gold accuracy   ${f(s.heldOutBefore?.accuracy)}   ${f(s.heldOutAfter?.accuracy)}`);
  if (s.heldOutBefore?.withEvents !== undefined || s.heldOutAfter?.withEvents !== undefined) {
    w(`  prompts with events     ${f(s.heldOutBefore?.withEvents?.accuracy)}   ${f(s.heldOutAfter?.withEvents?.accuracy)}`);
  }
  for (const a of ['colour', 'shape', 'background', 'motion', 'speed', 'event', 'eventTime'] as const) {
    const [before, after] = [s.heldOutBefore?.perAttribute[a], s.heldOutAfter?.perAttribute[a]];
    if (before === undefined && after === undefined) continue;
    w(`  ${a.padEnd(22)} ${f(before)}   ${f(after)}`);
  }
  w(`held-out gold quality    ${f(s.heldOutBefore?.quality)}   ${f(s.heldOutAfter?.quality)}`);
  for (const d of ['combined', 'TA', 'MQ', 'VQ', 'overall'])
    w(`reward ${d.padEnd(17)} ${f(s.rewardFirst[d])}   ${f(s.rewardLast[d])}   (first step / last step)`);
  w(`KL to reference (last)   ${f(s.klLast)}`);
  w(`masked videos ${s.maskedVideos}, dropped groups ${s.droppedGroups}, failed judgments ${s.failedJudgments}`);
  const j = s.judging;
  const agreement = s.judgeGoldAgreement === null ? '' : `; judge agrees with gold on ${(100 * s.judgeGoldAgreement).toFixed(1)}% of decided comparisons (OA)`;
  w(
    j.mode === 'pairwise'
      ? `judging: pairwise thinking, ${j.judgmentsPerGroup.toFixed(1)} comparisons per group, ${j.toolCallsPerJudgment.toFixed(2)} select_frames calls and ${j.framesViewedPerJudgment.toFixed(1)} frames viewed per comparison${agreement}`
      : `judging: pointwise, ${j.toolCallsPerJudgment.toFixed(2)} select_frames calls and ${j.framesViewedPerJudgment.toFixed(1)} frames viewed per group request`,
  );
  w(judgeLine(s, config));
}

export function registerTrain(program: Command): void {
  program
    .command('train')
    .description('align the generator with GRPO against the reward servers (embedded default: a local reward server is started)')
    .option('--steps <n>', 'steps in total (default: training.steps)')
    .option('--run-dir <dir>', 'run folder (default runs/<timestamp>)')
    .option('--resume <dir>', 'continue the run in this folder from its last checkpoint')
    .option('--generator <url>', 'a remote generator worker (ws://…) instead of the in-process policy (default: generator.worker.url)')
    .option('--metrics-port <port>', 'HTTP port of the dashboard and /metrics (default monitoring.http.port, 9464; 0 = a free port)')
    .option('--config <file>', 'config file')
    .action(async (flags: TrainFlags) => {
      const ctx = commandContext(flags.config);
      const { config, log } = ctx;
      const steps = intOption('--steps', flags.steps, 1);
      const metricsPort = intOption('--metrics-port', flags.metricsPort, 0);
      const runDir = resolve(flags.resume ?? flags.runDir ?? join('runs', new Date().toISOString().replace(/[:.]/g, '-')));
      await tensorBackend(ctx);
      const total = steps ?? config.training.steps;
      const progress = createProgress(total, 'train [{bar}] {value}/{total} | reward {reward} | gold {gold} | KL {kl} | ETA {eta_formatted}', log);
      const job = await TrainingJob.create({
        config,
        runDir,
        log,
        steps: total,
        resume: flags.resume !== undefined,
        ...(flags.generator === undefined ? {} : { generatorUrl: flags.generator }),
        monitoring: { kind: 'http', ...(metricsPort === undefined ? {} : { port: metricsPort }) },
        media: await media(ctx),
        onStep: (s: StepMetrics) => {
          if (s.step === 0) return;
          const reward = s.reward?.combined;
          const gold = s.goldAccuracy ?? null;
          const kl = s.kl ?? null;
          progress.update(s.step, {
            reward: reward === undefined ? '—' : reward.toFixed(3),
            gold: gold === null ? '—' : gold.toFixed(3),
            kl: kl === null ? '—' : kl.toExponential(2),
          });
        },
      });
      const onSignal = (): void => job.stop();
      process.once('SIGINT', onSignal);
      process.once('SIGTERM', onSignal);
      try {
        const summary = await job.run();
        progress.stop();
        printSummary(summary, config);
        process.stdout.write(`\nrun folder: ${runDir}\n`);
      } finally {
        process.off('SIGINT', onSignal);
        process.off('SIGTERM', onSignal);
        await job.close();
      }
    });
}
