/**
 * Where training prompts come from: the world's prompt generator (train split), or a prompt file (one prompt per
 * line, or JSONL objects with a `prompt` field and any metadata) shuffled per epoch with a seeded RNG. Its state is
 * saved in checkpoints so a resumed run sees the same prompt order.
 */
import { readFileSync } from 'node:fs';
import { Rng, deriveSeed, type RngState } from '../common/rng.js';
import { VrGrpoError } from '../errors/index.js';
import { PromptGenerator, promptText, tryParsePrompt, worldPromptOptions, type PromptSpec, type WorldPromptSettings } from '../world/index.js';

export interface SampledPrompt {
  readonly text: string;
  /** The world spec, when the prompt is in the world's grammar (gold scores are then available). */
  readonly spec: PromptSpec | null;
  readonly metadata: Readonly<Record<string, unknown>>;
}

export type PromptSamplerState =
  { readonly kind: 'world'; readonly rng: RngState } | { readonly kind: 'file'; readonly epoch: number; readonly position: number };

export interface PromptSampler {
  next(count: number): SampledPrompt[];
  state(): PromptSamplerState;
}

/** The world's train split (with events in world v2, exactly the v1 stream in world v1). */
export class WorldPromptSampler implements PromptSampler {
  private readonly gen: PromptGenerator;

  constructor(world: WorldPromptSettings, seed: number, state?: PromptSamplerState) {
    this.gen = new PromptGenerator(worldPromptOptions(world, 'train', seed), state?.kind === 'world' ? state.rng : undefined);
  }

  next(count: number): SampledPrompt[] {
    return this.gen.take(count).map((spec) => ({ text: promptText(spec), spec, metadata: {} }));
  }

  state(): PromptSamplerState {
    return { kind: 'world', rng: this.gen.state() };
  }
}

/** Reads a prompt file: JSONL when every non-empty line is a JSON object with a string `prompt`, else one prompt per line. */
export function readPromptFile(path: string): SampledPrompt[] {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw new VrGrpoError('CONFIG_INVALID', `cannot read prompt file ${path}`, { cause: e, details: { path } });
  }
  const lines = text
    .split(/\r?\n/)
    .map((l) => l.trim())
    .filter((l) => l.length > 0 && !l.startsWith('#'));
  if (lines.length === 0) throw new VrGrpoError('CONFIG_INVALID', `prompt file ${path} has no prompts`, { details: { path } });
  const jsonl = lines.every((l) => l.startsWith('{'));
  return lines.map((line, i) => {
    if (!jsonl) return { text: line, spec: tryParsePrompt(line), metadata: {} };
    let value: unknown;
    try {
      value = JSON.parse(line);
    } catch {
      throw new VrGrpoError('CONFIG_INVALID', `prompt file ${path} line ${i + 1}: not valid JSON`, { details: { path, line: i + 1 } });
    }
    const record = value as Record<string, unknown>;
    if (typeof record.prompt !== 'string' || record.prompt.length === 0) {
      throw new VrGrpoError('CONFIG_INVALID', `prompt file ${path} line ${i + 1}: expected a string "prompt" field`, { details: { path, line: i + 1 } });
    }
    const { prompt, ...metadata } = record;
    return { text: prompt, spec: tryParsePrompt(prompt), metadata };
  });
}

export class FilePromptSampler implements PromptSampler {
  private epoch: number;
  private position: number;
  private order: number[];

  constructor(
    private readonly prompts: readonly SampledPrompt[],
    private readonly seed: number,
    state?: PromptSamplerState,
  ) {
    this.epoch = state?.kind === 'file' ? state.epoch : 0;
    this.position = state?.kind === 'file' ? state.position : 0;
    this.order = this.shuffled(this.epoch);
  }

  private shuffled(epoch: number): number[] {
    return Rng.fromSeed(deriveSeed(this.seed, epoch)).shuffle(this.prompts.map((_, i) => i));
  }

  next(count: number): SampledPrompt[] {
    const out: SampledPrompt[] = [];
    while (out.length < count) {
      if (this.position >= this.order.length) {
        this.epoch += 1;
        this.position = 0;
        this.order = this.shuffled(this.epoch);
      }
      const p = this.prompts[this.order[this.position] ?? 0];
      this.position += 1;
      if (p !== undefined) out.push(p);
    }
    return out;
  }

  state(): PromptSamplerState {
    return { kind: 'file', epoch: this.epoch, position: this.position };
  }
}
