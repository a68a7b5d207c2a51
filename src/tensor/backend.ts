/**
 * Chooses the TensorFlow.js backend at run time: tfjs-node-gpu → tfjs-node → wasm → cpu for `auto`, or exactly the
 * one asked for. The native packages are optional (their install downloads libtensorflow, which fails on machines
 * without network access), so each is tried with a dynamic import.
 */
import * as tf from '@tensorflow/tfjs';
import { VrGrpoError } from '../errors/index.js';

export const TENSOR_BACKENDS = ['auto', 'node-gpu', 'node', 'wasm', 'cpu'] as const;
export type TensorBackendPreference = (typeof TENSOR_BACKENDS)[number];
export type TensorBackendName = Exclude<TensorBackendPreference, 'auto'>;

export interface BackendChoice {
  readonly name: TensorBackendName;
  /** The tfjs backend id actually active (`tensorflow`, `wasm`, `cpu`). */
  readonly tfBackend: string;
  /** Why earlier candidates were skipped. */
  readonly skipped: readonly { readonly name: TensorBackendName; readonly reason: string }[];
}

/** Loader of one candidate; resolves to the tfjs backend id to activate. Injected in tests. */
export type BackendLoader = () => Promise<string>;

const importOptional = async (specifier: string): Promise<unknown> => import(specifier);

export const DEFAULT_LOADERS: Readonly<Record<TensorBackendName, BackendLoader>> = {
  'node-gpu': async () => {
    await importOptional('@tensorflow/tfjs-node-gpu');
    return 'tensorflow';
  },
  node: async () => {
    await importOptional('@tensorflow/tfjs-node');
    return 'tensorflow';
  },
  wasm: async () => {
    await import('@tensorflow/tfjs-backend-wasm');
    return 'wasm';
  },
  cpu: () => Promise.resolve('cpu'),
};

const ORDER: readonly TensorBackendName[] = ['node-gpu', 'node', 'wasm', 'cpu'];

function reasonOf(e: unknown): string {
  const text = e instanceof Error ? e.message : String(e);
  return text.split('\n')[0]?.slice(0, 200) ?? 'unknown error';
}

/**
 * Activates a backend. With `auto`, the first candidate that loads wins; with an explicit name, failure raises
 * TENSOR_BACKEND_UNAVAILABLE. `log` receives one line naming the chosen backend.
 */
export async function chooseTensorBackend(
  preference: TensorBackendPreference,
  options: { log?: (line: string) => void; loaders?: Readonly<Record<TensorBackendName, BackendLoader>> } = {},
): Promise<BackendChoice> {
  const loaders = options.loaders ?? DEFAULT_LOADERS;
  const candidates = preference === 'auto' ? ORDER : [preference];
  const skipped: { name: TensorBackendName; reason: string }[] = [];
  for (const name of candidates) {
    try {
      const id = await loaders[name]();
      const ok = await tf.setBackend(id);
      if (!ok) throw new Error(`tf.setBackend('${id}') returned false`);
      await tf.ready();
      const choice: BackendChoice = { name, tfBackend: tf.getBackend(), skipped };
      options.log?.(`tensor backend: ${name} (tfjs '${choice.tfBackend}')${skipped.length > 0 ? `; skipped ${skipped.map((s) => s.name).join(', ')}` : ''}`);
      return choice;
    } catch (e) {
      skipped.push({ name, reason: reasonOf(e) });
    }
  }
  throw new VrGrpoError('TENSOR_BACKEND_UNAVAILABLE', `no TensorFlow.js backend could be loaded (${skipped.map((s) => `${s.name}: ${s.reason}`).join('; ')})`, {
    details: { preference, skipped },
  });
}

/** Number of live tensors (for leak checks). */
export function liveTensorCount(): number {
  return tf.memory().numTensors;
}
