/**
 * `vr-grpo judge-checkpoint swap|rollback|status` (old spelling: `vr-grpo rm …`): swap the judge of a running reward
 * server (admin commands, docs/rm-swap.md).
 */
import { resolve } from 'node:path';
import type { Command } from 'commander';
import { RewardServerClient, type CheckpointToLoad } from '../../reward-client/index.js';
import { UsageError, commandContext, intOption, type CommandContext } from '../context.js';

interface ConnectionFlags {
  config?: string;
  server: string;
  token?: string;
  adminToken?: string;
  timeoutMs?: string;
}

interface SwapFlags extends ConnectionFlags {
  checkpoint?: string;
  model?: string;
  baseUrl?: string;
  rmVersion?: string;
  agreementFloor?: string;
}

function print(value: unknown): void {
  process.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
}

/** `none` → null (no floor), a number in 0..1, or undefined (the server's default). */
function floorOption(value: string | undefined): number | null | undefined {
  if (value === undefined) return undefined;
  if (value === 'none') return null;
  const n = Number(value);
  if (value.trim() === '' || !Number.isFinite(n) || n < 0 || n > 1)
    throw new UsageError(`--agreement-floor: expected a number in 0..1 or "none", got ${JSON.stringify(value)}`);
  return n;
}

/** Connects with the upgrade token (flag, VRGRPO_TOKEN, rewardServer.token), runs `run`, always closes. */
async function withClient<T>(
  ctx: CommandContext,
  flags: ConnectionFlags,
  run: (client: RewardServerClient, admin: { adminToken?: string; timeoutMs?: number }) => Promise<T>,
): Promise<T> {
  const token = flags.token ?? process.env.VRGRPO_TOKEN ?? ctx.config.rewardServer.token ?? undefined;
  const adminToken = flags.adminToken ?? process.env.VRGRPO_ADMIN_TOKEN ?? ctx.config.rewardServer.adminToken ?? undefined;
  const timeoutMs = intOption('--timeout-ms', flags.timeoutMs, 1);
  const client = await RewardServerClient.connect(flags.server, { ...(token === undefined || token === '' ? {} : { token }), clientName: 'vr-grpo-rm' });
  try {
    return await run(client, { ...(adminToken === undefined || adminToken === '' ? {} : { adminToken }), ...(timeoutMs === undefined ? {} : { timeoutMs }) });
  } finally {
    await client.close();
  }
}

function connectionOptions(command: Command): Command {
  return command
    .requiredOption('--server <url>', 'the reward server, ws://HOST:PORT')
    .option('--admin-token <token>', 'admin token (default: VRGRPO_ADMIN_TOKEN, then rewardServer.adminToken)')
    .option('--token <token>', 'bearer token of the WebSocket upgrade (default: VRGRPO_TOKEN, then rewardServer.token)')
    .option('--timeout-ms <n>', 'how long to wait for the answer (default 120000)')
    .option('--config <file>', 'config file');
}

export function registerRm(program: Command): void {
  const rm = program
    .command('judge-checkpoint')
    .alias('rm')
    .description('swap, roll back or inspect the judge of a running reward server (prints JSON; exit 1 with "error [CODE]" on failure)');

  connectionOptions(
    rm
      .command('swap')
      .description('load a checkpoint on the server, validate it (signature, canary) and switch to it')
      .option(
        '--checkpoint <path>',
        'embedded: checkpoint folder (a perception checkpoint, or a learned judge from train-judge) as seen by the server; relative paths are made absolute here',
      )
      .option('--model <name>', 'VLM: the model name to judge with')
      .option('--base-url <url>', 'VLM: the OpenAI-compatible endpoint')
      .option('--rm-version <label>', 'VLM: the version label verdicts carry (default vlm:<model>)')
      .option('--agreement-floor <x>', 'minimum agreement (0..1) with the current version on the canary, or "none" (default: the server\'s)'),
  ).action(async (flags: SwapFlags) => {
    const ctx = commandContext(flags.config);
    const floor = floorOption(flags.agreementFloor);
    const vlm = flags.model !== undefined || flags.baseUrl !== undefined;
    if ((flags.checkpoint === undefined) === !vlm) throw new UsageError('rm swap: give --checkpoint PATH, or --model and/or --base-url (not both)');
    const what: CheckpointToLoad =
      flags.checkpoint !== undefined
        ? { checkpoint: resolve(flags.checkpoint) }
        : {
            ...(flags.model === undefined ? {} : { model: flags.model }),
            ...(flags.baseUrl === undefined ? {} : { baseUrl: flags.baseUrl }),
            ...(flags.rmVersion === undefined ? {} : { rmVersion: flags.rmVersion }),
          };
    print(
      await withClient(ctx, flags, (client, admin) => client.loadCheckpoint(what, { ...admin, ...(floor === undefined ? {} : { agreementFloor: floor }) })),
    );
  });

  connectionOptions(rm.command('rollback').description('switch the server back to its previous judge version')).action(async (flags: ConnectionFlags) => {
    const ctx = commandContext(flags.config);
    print(await withClient(ctx, flags, (client, admin) => client.rollback(admin)));
  });

  connectionOptions(
    rm.command('status').description("the server's checkpoint state: current and previous versions, loads in progress, swaps, rejections"),
  ).action(async (flags: ConnectionFlags) => {
    const ctx = commandContext(flags.config);
    print(await withClient(ctx, flags, (client, admin) => client.checkpointStatus(admin)));
  });
}
