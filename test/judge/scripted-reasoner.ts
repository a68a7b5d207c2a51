import type { Reasoner, ReasonerInput } from '../../src/judge/reasoner.js';

/** A reasoner replaying scripted turns; records every input it was given. */
export class ScriptedReasoner implements Reasoner {
  readonly name = 'scripted';
  readonly inputs: ReasonerInput[] = [];
  released = 0;
  private call = 0;

  constructor(
    private readonly script: (input: ReasonerInput, call: number) => string,
    readonly rmVersion = 'scripted-v1',
  ) {}

  next(input: ReasonerInput): Promise<string> {
    this.inputs.push(input);
    return Promise.resolve(this.script(input, this.call++));
  }

  release(): void {
    this.released += 1;
  }

  close(): Promise<void> {
    return Promise.resolve();
  }
}

export const ANSWER = (a = '1', cf = '1'): string =>
  `<snapshot>saw it</snapshot><think>ok</think><answer> TA = ${a}, MQ = ${a}, VQ = ${a}, OA = ${a}, CF = ${cf} </answer>`;
export const TOOL = (frames: readonly unknown[], rec = 'TA = 1, MQ = 0, VQ = 0, OA = 1, CF = 2'): string =>
  `<snapshot>s</snapshot><think>need a closer look</think><recommend answer> ${rec} </recommend answer><tool_call>{"name": "select_frames", "arguments": {"target_frames": ${JSON.stringify(frames)}}}</tool_call>`;
