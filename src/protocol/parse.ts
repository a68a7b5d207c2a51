/** Edge parsing: raw socket text → a typed message, or a stable error code naming the offending field. */
import type { z } from 'zod';
import { CLIENT_MESSAGE_TYPES, clientMessageSchema, serverMessageSchema, type ClientMessage, type ServerMessage } from './messages.js';

export type ParseFailureCode = 'BAD_MESSAGE' | 'INVALID_REQUEST' | 'UNKNOWN_TYPE';

export type ParseOutcome<T> =
  | { readonly ok: true; readonly message: T }
  | { readonly ok: false; readonly code: ParseFailureCode; readonly message: string; readonly id: string | null };

function describeIssue(issue: z.core.$ZodIssue): string {
  const path = issue.path.map(String).join('.');
  if (issue.code === 'unrecognized_keys') return `${[path, ...issue.keys].filter((p) => p !== '').join('.')}: unknown field`;
  return `${path === '' ? '(message)' : path}: ${issue.message}`;
}

function idOf(value: unknown): string | null {
  if (value !== null && typeof value === 'object' && 'id' in value) {
    const id = value.id;
    if (typeof id === 'string' && id.length > 0 && id.length <= 128) return id;
  }
  return null;
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
    return { ok: false, code: 'BAD_MESSAGE', message: 'message is not valid JSON', id: null };
  }
  const id = idOf(value);
  if (knownTypes !== null) {
    if (value === null || typeof value !== 'object' || Array.isArray(value)) {
      return { ok: false, code: 'INVALID_REQUEST', message: '(message): expected a JSON object', id };
    }
    const type = (value as { type?: unknown }).type;
    if (typeof type !== 'string') return { ok: false, code: 'INVALID_REQUEST', message: 'type: expected string', id };
    if (!knownTypes.includes(type)) return { ok: false, code: 'UNKNOWN_TYPE', message: `unknown message type ${JSON.stringify(type.slice(0, 64))}`, id };
  }
  const parsed = schema.safeParse(value);
  if (!parsed.success) return { ok: false, code: 'INVALID_REQUEST', message: parsed.error.issues.slice(0, 3).map(describeIssue).join('; '), id };
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
