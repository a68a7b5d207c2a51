/** Edge parsing: raw socket text → a typed message, or a stable error code naming the offending field. */
import { z } from 'zod';
import { CLIENT_MESSAGE_TYPES, clientMessageSchema, serverMessageSchema, type ClientMessage, type ServerMessage } from './messages.js';

export type ParseFailureCode = 'BAD_MESSAGE' | 'INVALID_REQUEST' | 'UNKNOWN_TYPE';

export type ParseOutcome<T> =
  | { readonly ok: true; readonly message: T }
  | {
      readonly ok: false;
      readonly code: ParseFailureCode;
      readonly message: string;
      /** What the answer is about: the message's `id`, else its `ref` (inline-video headers), when the schema would accept it. */
      readonly id: string | null;
      /** The message's `type` when it is a string (so a receiver knows e.g. that a refused message was a video header). */
      readonly type: string | null;
    };

/** The longest error text a parse failure produces; hostile input must not be echoed back at length. */
export const MAX_PARSE_ERROR_CHARS = 1_000;
/** Unknown field names listed in an error (the rest are counted). */
const MAX_LISTED_KEYS = 5;

function clip(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max - 1)}…`;
}

function describeIssue(issue: z.core.$ZodIssue): string {
  const path = clip(issue.path.map(String).join('.'), 200);
  if (issue.code === 'unrecognized_keys') {
    const listed = issue.keys.slice(0, MAX_LISTED_KEYS).map((key) => clip(key, 64));
    const more = issue.keys.length - listed.length;
    const fields = listed.map((key) => (path === '' ? key : `${path}.${key}`)).join(', ');
    return `${fields}${more > 0 ? ` (and ${more} more)` : ''}: unknown field${issue.keys.length > 1 ? 's' : ''}`;
  }
  return `${path === '' ? '(message)' : path}: ${clip(issue.message, 300)}`;
}

/** The rule every protocol id (and inline-video ref) follows; 128 characters counted as the schemas count them. */
const echoableId = z.string().min(1).max(128);

function echoable(value: unknown): string | null {
  return echoableId.safeParse(value).success ? (value as string) : null;
}

function idOf(value: unknown): string | null {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return null;
  const fields = value as { id?: unknown; ref?: unknown };
  return echoable(fields.id) ?? echoable(fields.ref);
}

function typeOf(value: unknown): string | null {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return null;
  const type = (value as { type?: unknown }).type;
  return typeof type === 'string' ? type : null;
}

/**
 * Parses one text message against a tagged-union schema. With `knownTypes` (the receiving side of requests) a
 * non-object, a missing `type` and an unknown `type` get their own answers before the schema runs; without it
 * (responses) only the schema decides.
 */
export function parseTaggedMessage<T>(text: string, schema: z.ZodType<T>, knownTypes: readonly string[] | null): ParseOutcome<T> {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return { ok: false, code: 'BAD_MESSAGE', message: 'message is not valid JSON', id: null, type: null };
  }
  const id = idOf(value);
  const type = typeOf(value);
  if (knownTypes !== null) {
    if (value === null || typeof value !== 'object' || Array.isArray(value)) {
      return { ok: false, code: 'INVALID_REQUEST', message: '(message): expected a JSON object', id, type };
    }
    if (type === null) return { ok: false, code: 'INVALID_REQUEST', message: 'type: expected string', id, type };
    if (!knownTypes.includes(type)) return { ok: false, code: 'UNKNOWN_TYPE', message: `unknown message type ${JSON.stringify(type.slice(0, 64))}`, id, type };
  }
  const parsed = schema.safeParse(value);
  if (!parsed.success) {
    return {
      ok: false,
      code: 'INVALID_REQUEST',
      message: clip(parsed.error.issues.slice(0, 3).map(describeIssue).join('; '), MAX_PARSE_ERROR_CHARS),
      id,
      type,
    };
  }
  return { ok: true, message: parsed.data };
}

/** Parses one client text message (server side). */
export function parseClientMessage(text: string): ParseOutcome<ClientMessage> {
  return parseTaggedMessage(text, clientMessageSchema, CLIENT_MESSAGE_TYPES);
}

/** Parses one server text message (client side). */
export function parseServerMessage(text: string): ParseOutcome<ServerMessage> {
  return parseTaggedMessage(text, serverMessageSchema, null);
}
