/**
 * Entry of a media thread (see ./media-thread.ts): a `Media` whose ffprobe and ffmpeg processes start from this
 * thread, so the synchronous fork of each spawn holds this thread's loop, not the caller's. A decode with an admission
 * check comes in two calls: `prepare` (probes and limits; the plan is kept here under an id) and `run` (or `drop`
 * when the caller refused it). Decoded frames go back moved. Every answer carries this media's spawn count.
 */
import { serveThread, type ThreadHandlers, type ThreadReply } from '../common/thread-rpc.js';
import { VrGrpoError } from '../errors/index.js';
import { Media, type PrepareDecodeOptions, type PreparedDecode } from './media.js';
import type { RawVideo } from './raw-video.js';

/** Start data of a media thread: the binaries already resolved by the caller, and the process time limit. */
export interface MediaThreadData {
  readonly ffmpegPath: string;
  readonly ffprobePath: string;
  readonly timeoutMs: number;
}

/** What every media thread call answers: its result and the thread media's spawn count after it. */
export interface MediaReply {
  readonly result: unknown;
  readonly spawnCount: number;
}

serveThread(async (raw) => {
  const data = raw as MediaThreadData;
  const media = await Media.create({ ffmpegPath: data.ffmpegPath, ffprobePath: data.ffprobePath, timeoutMs: data.timeoutMs });
  const prepared = new Map<number, PreparedDecode>();
  let nextId = 1;
  const reply = (result: unknown): ThreadReply => ({ value: { result, spawnCount: media.spawnCount } satisfies MediaReply });
  const video = (v: RawVideo): ThreadReply => ({
    value: { result: v, spawnCount: media.spawnCount } satisfies MediaReply,
    transfer: v.data.buffer instanceof ArrayBuffer ? [v.data.buffer] : [],
  });
  const take = (id: number): PreparedDecode => {
    const p = prepared.get(id);
    if (p === undefined) throw new VrGrpoError('INVALID_STATE', `media thread: no prepared decode ${id}`);
    prepared.delete(id);
    return p;
  };
  const handlers: ThreadHandlers = {
    decode: async ([file, opts]) => video(await media.decode(file as string, opts as PrepareDecodeOptions)),
    prepare: async ([file, opts]) => {
      const p = await media.prepareDecode(file as string, opts as PrepareDecodeOptions);
      const id = nextId++;
      prepared.set(id, p);
      return reply({ id, plan: p.plan });
    },
    run: async ([id]) => video(await media.runDecode(take(id as number))),
    drop: ([id]) => {
      prepared.delete(id as number);
      return Promise.resolve(reply(null));
    },
    probe: async ([file]) => reply(await media.probe(file as string)),
  };
  return handlers;
});
