/**
 * The dashboard's memory of a run: step records, events and sampled groups in publication order, each numbered
 * (`seq`) and each list bounded (the oldest entries are dropped). A page opened mid-run reads it all, then follows the
 * feed from the last number it saw. Every message is serialised once, when it is added.
 */
import type { EventRecord, FeedEvent, FeedMessage, GroupRecord, HistoryBody, StepRecord } from './records.js';

/** A feed message with its JSON text (the SSE `data:` payload). */
export type StoredMessage = FeedMessage & { readonly json: string };

export interface HistoryLimits {
  readonly maxSteps: number;
  readonly maxEvents: number;
  readonly maxGroups: number;
}

/** Appends to `list`, dropping from the front beyond `max`. */
function pushBounded<T>(list: T[], item: T, max: number): void {
  list.push(item);
  if (list.length > max) list.splice(0, list.length - max);
}

export class FeedHistory {
  #seq = 0;
  #steps: (StoredMessage & { type: 'step' })[] = [];
  #events: (StoredMessage & { type: 'event' })[] = [];
  #groups: (StoredMessage & { type: 'group' })[] = [];

  constructor(private readonly limits: HistoryLimits) {}

  /** The number of the last message added (0 before any). */
  get seq(): number {
    return this.#seq;
  }

  /** The last step published, 0 before any. */
  get lastStep(): number {
    return this.#steps.at(-1)?.data.step ?? 0;
  }

  /**
   * Adds a step record. A step not after the last one (a resumed run repeating steps) replaces the retained records
   * from that step on, as the page does when it receives it. Throws when the record cannot be serialised.
   */
  addStep(record: StepRecord): StoredMessage {
    const json = JSON.stringify(record);
    const message = { seq: this.#seq + 1, type: 'step' as const, data: record, json };
    if (this.#steps.length > 0 && this.lastStep >= record.step) {
      const from = this.#steps.findIndex((m) => m.data.step >= record.step);
      if (from >= 0) this.#steps.splice(from);
    }
    pushBounded(this.#steps, message, this.limits.maxSteps);
    this.#seq = message.seq;
    return message;
  }

  /** Adds an event, noting the step it followed (`atStep`). Throws when the record cannot be serialised. */
  addEvent(record: EventRecord): StoredMessage {
    const data: FeedEvent = { ...record, atStep: this.lastStep };
    const message = { seq: this.#seq + 1, type: 'event' as const, data, json: JSON.stringify(data) };
    pushBounded(this.#events, message, this.limits.maxEvents);
    this.#seq = message.seq;
    return message;
  }

  /** Adds a sampled group. Throws when the record cannot be serialised. */
  addGroup(group: GroupRecord): StoredMessage {
    const message = { seq: this.#seq + 1, type: 'group' as const, data: group, json: JSON.stringify(group) };
    pushBounded(this.#groups, message, this.limits.maxGroups);
    this.#seq = message.seq;
    return message;
  }

  /** Retained messages numbered after `seq`, in publication order (what a reconnecting feed client missed). */
  since(seq: number): StoredMessage[] {
    const after = (m: StoredMessage): boolean => m.seq > seq;
    return [...this.#steps.filter(after), ...this.#events.filter(after), ...this.#groups.filter(after)].sort((a, b) => a.seq - b.seq);
  }

  /** Everything retained, for `GET /api/history`. */
  body(title: string): HistoryBody {
    return {
      title,
      seq: this.#seq,
      steps: this.#steps.map((m) => m.data),
      events: this.#events.map((m) => m.data),
      groups: this.#groups.map((m) => m.data),
    };
  }

  /** `JSON.stringify(this.body(title))`, assembled from the texts serialised when the messages were added. */
  bodyJson(title: string): string {
    const list = (ms: readonly StoredMessage[]): string => `[${ms.map((m) => m.json).join(',')}]`;
    return `{"title":${JSON.stringify(title)},"seq":${this.#seq},"steps":${list(this.#steps)},"events":${list(this.#events)},"groups":${list(this.#groups)}}`;
  }
}
