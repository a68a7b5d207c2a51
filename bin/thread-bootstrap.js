// Entry of every worker thread this project starts (src/common/thread-rpc.ts): the project runs from its
// TypeScript sources, and a thread does not inherit the loader its parent registered, so a `.ts` entry gets the tsx
// loader registered here before it is imported. Plain JavaScript: it must load before any loader exists.
import { workerData } from 'node:worker_threads';

const entry = workerData?.entry;
if (typeof entry !== 'string') throw new Error('thread-bootstrap: workerData.entry must be the URL of the entry module');
if (entry.endsWith('.ts')) {
  const { register } = await import('tsx/esm/api');
  register();
}
await import(entry);
