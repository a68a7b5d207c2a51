/** The `vr-grpo` command line: commander wiring and error reporting only; each command lives in commands/. */
import { Command, CommanderError } from 'commander';
import { isVrGrpoError } from '../errors/index.js';
import { registerCheckGenerator } from './commands/check-generator.js';
import { registerEvalJudge } from './commands/eval-judge.js';
import { registerGenerate } from './commands/generate.js';
import { registerJudge } from './commands/judge.js';
import { registerPretrainGenerator } from './commands/pretrain-generator.js';
import { registerRm } from './commands/judge-checkpoint.js';
import { registerServeGenerator } from './commands/serve-generator.js';
import { registerScreenshot } from './commands/screenshot.js';
import { registerServeReward } from './commands/serve-reward.js';
import { registerTrain } from './commands/train.js';
import { registerTrainJudge } from './commands/train-judge.js';
import { registerTrainRewardModel } from './commands/train-perception.js';
import { UsageError } from './context.js';

export function buildProgram(): Command {
  const program = new Command('vr-grpo')
    .description('GRPO alignment of text-to-video generators against a thinking-with-image video reward model (VR-Thinker)')
    .showHelpAfterError()
    .exitOverride();
  registerTrain(program);
  registerGenerate(program);
  registerPretrainGenerator(program);
  registerTrainRewardModel(program);
  registerTrainJudge(program);
  registerServeReward(program);
  registerServeGenerator(program);
  registerCheckGenerator(program);
  registerJudge(program);
  registerEvalJudge(program);
  registerRm(program);
  registerScreenshot(program);
  return program;
}

/** Runs the CLI; resolves to the process exit code (0 ok, 1 failure, 2 usage or config error). */
export async function main(argv: readonly string[]): Promise<number> {
  const program = buildProgram();
  try {
    await program.parseAsync([...argv]);
    return 0;
  } catch (e) {
    if (e instanceof CommanderError) return e.exitCode === 0 ? 0 : 2;
    if (e instanceof UsageError) {
      process.stderr.write(`error: ${e.message}\n`);
      return 2;
    }
    if (isVrGrpoError(e)) {
      process.stderr.write(`error [${e.code}]: ${e.message}\n`);
      return e.code === 'CONFIG_INVALID' || e.code === 'CONFIG_NOT_FOUND' ? 2 : 1;
    }
    process.stderr.write(`error: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
    return 1;
  }
}
