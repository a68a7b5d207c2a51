/**
 * Judging perceived pairs through the real judge engine without re-running perception: each pair's frames are served
 * by a `FrameSource` whose "frames" are small tokens, and a `PerceptionPort` maps each token back to that frame's
 * cached perception. The engine handles frames opaquely (it fetches, windows and forwards them), so every tool rule,
 * the memory window and the checks run exactly as with pixels; only the ONNX run is skipped. Tokens are tied to the
 * pair objects (WeakMap), so nothing outlives the pairs.
 */
import { VrGrpoError } from '../errors/index.js';
import type { PerceivedFrame } from '../judge/backends/embedded/evidence.js';
import { videoSignals, type FramePerception } from '../judge/backends/embedded/perception/index.js';
import type { PerceptionPort } from '../judge/backends/embedded/reasoner.js';
import type { FrameSource } from '../judge/frame-source.js';
import type { PerceivedPair } from './perceived-pairs.js';

export class PerceptionCache {
  private readonly byToken = new WeakMap<Uint8Array, FramePerception>();
  private readonly tokens = new WeakMap<PerceivedPair, readonly [Uint8Array[], Uint8Array[]]>();

  constructor(readonly version: string) {}

  /** The two frame sources of a pair (video 1, video 2). */
  sources(pair: PerceivedPair): [FrameSource, FrameSource] {
    let t = this.tokens.get(pair);
    if (t === undefined) {
      const make = (frames: readonly FramePerception[]): Uint8Array[] =>
        frames.map((f) => {
          const token = new Uint8Array(1);
          this.byToken.set(token, f);
          return token;
        });
      t = [make(pair.frames[0]), make(pair.frames[1])];
      this.tokens.set(pair, t);
    }
    const source = (k: 0 | 1): FrameSource => {
      const tokens = t[k];
      const label = `${pair.id}#${k + 1}`;
      return {
        label,
        frameCount: () => Promise.resolve(tokens.length),
        size: () => Promise.resolve({ width: pair.width, height: pair.height }),
        frames: (indices) => {
          const out: Uint8Array[] = [];
          for (const i of indices) {
            const token = tokens[i];
            if (token === undefined) return Promise.reject(new VrGrpoError('VIDEO_DECODE_FAILED', `${label}: frame ${i} is outside 0..${tokens.length - 1}`));
            out.push(token);
          }
          return Promise.resolve(out);
        },
      };
    };
    return [source(0), source(1)];
  }

  /** The perception port that reads tokens back (INVALID_ARGUMENT for frames that are not tokens of this cache). */
  port(): PerceptionPort {
    return {
      version: this.version,
      perceive: (frames) => {
        const out: PerceivedFrame[] = [];
        for (const f of frames) {
          const p = this.byToken.get(f.rgb);
          if (p === undefined) return Promise.reject(new VrGrpoError('INVALID_ARGUMENT', `frame ${f.index} is not a cached perception`));
          out.push({ ...p, frameIndex: f.index });
        }
        return Promise.resolve(out);
      },
      signals: (frames, width, height) => videoSignals(frames, width, height),
      close: () => Promise.resolve(),
    };
  }
}
