/** The `Reasoner` contract: a judge backend that writes the next assistant turn of a VR-Thinker conversation. */

/** An image in the conversation: frame `index` (1-based, in the judgment's shared index space). */
export interface ImageRef {
  readonly index: number;
  readonly rgb: Uint8Array;
  readonly width: number;
  readonly height: number;
}

export interface ConversationMessage {
  readonly role: 'system' | 'user' | 'assistant' | 'tool';
  readonly text: string;
  /** Images carried by this message in this request (after the memory window). */
  readonly images: readonly ImageRef[];
  /** Frames this message carried originally but whose images the memory window dropped (text survives). */
  readonly droppedImages: readonly number[];
}

export interface ReasonerInput {
  /** Unique per conversation; lets a backend keep per-conversation scratch (released by `release`). */
  readonly conversationId: string;
  readonly prompt: string;
  readonly mode: 'pairwise' | 'pointwise';
  /** Frames per video, in index-space order (pairwise: video 1 holds 1..F1, video 2 F1+1..F1+F2). */
  readonly videoFrameCounts: readonly number[];
  /**
   * Per video, a key naming its content across judgments (FrameSource.cacheKey), or null: a backend may reuse what it
   * perceived of frame i of a keyed video. Null too when the index space is virtual (frames are not the video's own).
   */
  readonly videoKeys?: readonly (string | null)[];
  readonly messages: readonly ConversationMessage[];
  readonly toolCallsLeft: number;
  /** Tool calls the whole conversation may make (the budget `toolCallsLeft` counts down from). */
  readonly maxToolCalls: number;
  readonly maxFramesPerCall: number;
  /**
   * TESTING AID (the planted `hiding` hack): every frame of each video, in video order, given only to a reasoner with
   * `wantsWholeClip`. These frames are not part of the conversation: they are not shown, counted or cited.
   */
  readonly wholeClip?: readonly (readonly ImageRef[])[];
  /**
   * TESTING AID, with `wholeClip`: when this conversation is one of a set of interleaved views (`initialView`, a
   * full-view audit), per video the 0-based frames the whole set shows. The set is one look at every frame split to fit
   * the context: for the planted `hiding` hack these frames count as viewed.
   */
  readonly viewSetFrames?: readonly (readonly number[])[];
}

/** A turn with what producing it cost, for backends that know (a VLM server reports token usage). */
export interface ReasonerReply {
  readonly text: string;
  /** Tokens of the context after this turn (prompt + completion of the request that produced it); checked against the engine's token budget. */
  readonly contextTokens?: number;
}

export interface Reasoner {
  readonly name: string;
  /** The most frames one request may carry (a context limit); the audit re-judgment samples no more. Default: unlimited. */
  readonly maxFramesPerRequest?: number;
  /** The judge version this reasoner serves. */
  readonly rmVersion: string;
  /** TESTING AID: the engine passes `ReasonerInput.wholeClip` (the planted `hiding` hack). Default false. */
  readonly wantsWholeClip?: boolean;
  /** The next assistant turn (VR-Thinker text), alone or with its cost. */
  next(input: ReasonerInput, signal?: AbortSignal): Promise<string | ReasonerReply>;
  /** Frees per-conversation scratch. */
  release(conversationId: string): void;
  close(): Promise<void>;
}
