/**
 * `vr-grpo train-judge cold-start|rft|grpo`: trains the learned judge in VR-Thinker's three stages (docs/judge-training.md);
 * each stage writes a checkpoint folder (manifest.json, metrics.json, policy.onnx, perception/) and prints a JSON summary.
 */
import type { Command } from 'commander';
import { runStage, type StageOverrides } from '../../judge-training/index.js';
import { ANSWER_MODES, type AnswerMode, type TrainingStage } from '../../judge/backends/learned/index.js';
import { UsageError, commandContext, intOption, tensorBackend } from '../context.js';

interface StageFlags {
  config?: string;
  out: string;
  from?: string;
  version?: string;
  seed?: string;
  answerMode?: string;
}

interface GrpoFlags extends StageFlags {
  iterations?: string;
  groupSize?: string;
  /** false with --no-cot-gain. */
  cotGain: boolean;
  /** false with --no-exploration. */
  exploration: boolean;
}

const isAnswerMode = (v: string): v is AnswerMode => (ANSWER_MODES as readonly string[]).includes(v);

function answerModeOption(value: string | undefined): AnswerMode | undefined {
  if (value === undefined) return undefined;
  if (!isAnswerMode(value)) throw new UsageError(`--answer-mode: expected one of ${ANSWER_MODES.join(', ')}, got ${JSON.stringify(value)}`);
  return value;
}

function commonOverrides(flags: StageFlags): StageOverrides {
  const seed = intOption('--seed', flags.seed, 0);
  const answerMode = answerModeOption(flags.answerMode);
  return { ...(seed === undefined ? {} : { seed }), ...(answerMode === undefined ? {} : { answerMode }) };
}

function grpoOverrides(flags: GrpoFlags): StageOverrides {
  const iterations = intOption('--iterations', flags.iterations, 0);
  const groupSize = intOption('--group-size', flags.groupSize, 2);
  return {
    ...commonOverrides(flags),
    grpo: {
      ...(iterations === undefined ? {} : { iterations }),
      ...(groupSize === undefined ? {} : { groupSize }),
      ...(flags.cotGain ? {} : { weights: { cotGain: 0 } }),
      ...(flags.exploration ? {} : { exploration: { bonus: 0 } }),
    },
  };
}

function stageCommand(parent: Command, stage: TrainingStage, description: string): Command {
  const command = parent
    .command(stage)
    .description(description)
    .requiredOption('--out <dir>', 'checkpoint folder to write (replaced atomically)')
    .option('--version <label>', 'version label in the manifest and in served verdicts (default: the name of --out)')
    .option('--seed <n>', 'seed of sampling and initialisation (default: judgeTraining.seed)')
    .option('--answer-mode <mode>', `${ANSWER_MODES.join(' | ')} (default: judgeTraining.answerMode; rft/grpo: the parent's)`)
    .option('--config <file>', 'config file (judgeTraining section, generator and judge perception)');
  return stage === 'cold-start' ? command : command.requiredOption('--from <dir>', 'parent checkpoint folder (written by the previous stage)');
}

async function run(stage: TrainingStage, flags: StageFlags, overrides: StageOverrides): Promise<void> {
  const ctx = commandContext(flags.config);
  await tensorBackend(ctx);
  const summary = await runStage(ctx.config, {
    stage,
    out: flags.out,
    from: flags.from ?? null,
    ...(flags.version === undefined ? {} : { version: flags.version }),
    overrides,
    log: (line) => ctx.log.info(line),
  });
  process.stdout.write(`${JSON.stringify(summary, null, 2)}\n`);
}

export function registerTrainJudge(program: Command): void {
  const trainJudge = program
    .command('train-judge')
    .description("train the learned judge in VR-Thinker's three stages; each writes a checkpoint (manifest.json, metrics.json, policy.onnx, perception/)");
  stageCommand(trainJudge, 'cold-start', 'stage 1: imitate the rule-based judge on training pairs (traces filtered for format and correct answers)').action(
    (flags: StageFlags) => run('cold-start', flags, commonOverrides(flags)),
  );
  stageCommand(trainJudge, 'rft', 'stage 2: rejection-sampling fine-tuning (keep sampled traces right overall and on every dimension)').action(
    (flags: StageFlags) => run('rft', flags, commonOverrides(flags)),
  );
  stageCommand(trainJudge, 'grpo', 'stage 3: GRPO with rule-based rewards (format, accuracy, CoT gain, exploration incentive)')
    .option('--iterations <n>', 'GRPO iterations (default: judgeTraining.grpo.iterations)')
    .option('--group-size <n>', 'traces per pair (default: judgeTraining.grpo.groupSize)')
    .option('--no-cot-gain', 'ablation: weight 0 on the CoT-gain term')
    .option('--no-exploration', 'ablation: no exploration incentive')
    .action((flags: GrpoFlags) => run('grpo', flags, grpoOverrides(flags)));
}
