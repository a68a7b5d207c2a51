/**
 * Entry of an ONNX session thread (see ./session-thread.ts): holds one onnxruntime session and serves its
 * {@link SessionMethod}s one call at a time, so session creation and every run (synchronous native calls in
 * onnxruntime-node) block this thread instead of the caller's event loop. Outputs go back as moved buffers.
 */
import { serveThread, type ThreadHandlers, type ThreadReply } from '../common/thread-rpc.js';
import { VrGrpoError } from '../errors/index.js';
import { OrtSession, type RawFeed, type RawOutput } from './ort-session.js';
import { transferable, type SessionMethod, type SessionThreadData } from './session-messages.js';

/** Outputs and the buffers that move them; a buffer that refuses to move (none seen so far) is copied instead. */
function movedOutputs(outputs: readonly RawOutput[]): ThreadReply {
  const floats = outputs.flatMap((o) => (o.data === null ? [] : [o.data]));
  const { arrays, transfer } = transferable(floats, true);
  let k = 0;
  const value = outputs.map((o) => (o.data === null ? o : { ...o, data: arrays[k++] ?? o.data }));
  try {
    // Moves the buffers into fresh ones now, so a refusal shows here rather than in serveThread's postMessage.
    const moved = structuredClone(value, { transfer });
    return {
      value: moved,
      transfer: transferable(
        moved.flatMap((o) => (o.data === null ? [] : [o.data])),
        true,
      ).transfer,
    };
  } catch {
    return { value };
  }
}

serveThread((raw) => {
  const { label, options } = raw as SessionThreadData;
  let session: OrtSession | null = null;
  // One call at a time, in arrival order: a close waits for the runs queued before it.
  let queue: Promise<unknown> = Promise.resolve();
  const serial = (work: () => Promise<ThreadReply>): Promise<ThreadReply> => {
    const next = queue.then(work);
    queue = next.catch(() => undefined);
    return next;
  };
  const open = (): OrtSession => {
    if (session === null) throw new VrGrpoError('INFERENCE_FAILED', `${label}: no session loaded`, { details: { model: label } });
    return session;
  };
  const handlers: Record<SessionMethod, ThreadHandlers[string]> = {
    load: ([bytes]) =>
      serial(async () => {
        session = await OrtSession.open(bytes as Uint8Array, options, label);
        return { value: { inputs: session.inputs, outputs: session.outputs } };
      }),
    run: ([feeds]) => serial(async () => movedOutputs(await open().run(feeds as readonly RawFeed[]))),
    close: () =>
      serial(async () => {
        const closing = session;
        session = null;
        await closing?.release();
        return { value: null };
      }),
    untilExit: () => new Promise<never>(() => undefined),
    // Thrown synchronously, on arrival and ahead of queued work: an uncaught error ends the thread as a crash would,
    // with that work still pending.
    crash: () => {
      throw new Error('session thread crash requested');
    },
  };
  return Promise.resolve(handlers);
});
