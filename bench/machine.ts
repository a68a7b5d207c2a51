/** Facts about the machine a benchmark ran on, printed and stored with every result. */
import { cpus, totalmem } from 'node:os';

export interface MachineInfo {
  readonly cores: number;
  readonly cpuModel: string;
  readonly memoryGiB: number;
  readonly node: string;
  readonly platform: string;
}

let announced = false;

/** The machine's facts; the first call also prints them to stderr, so every benchmark's output names its machine. */
export function machineInfo(): MachineInfo {
  const list = cpus();
  const info: MachineInfo = {
    cores: list.length,
    cpuModel: list[0]?.model ?? 'unknown',
    memoryGiB: Math.round((totalmem() / 2 ** 30) * 10) / 10,
    node: process.version,
    platform: `${process.platform}-${process.arch}`,
  };
  if (!announced) {
    announced = true;
    process.stderr.write(`machine: ${info.cores} cores (${info.cpuModel}), ${info.memoryGiB} GiB, node ${info.node}, ${info.platform}\n`);
  }
  return info;
}

export function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 === 1 ? (s[mid] ?? NaN) : ((s[mid - 1] ?? NaN) + (s[mid] ?? NaN)) / 2;
}
