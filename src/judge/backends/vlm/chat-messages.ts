/**
 * The slice of the OpenAI chat-completions wire format the VLM backend speaks: request messages with text and
 * `image_url` parts, and the response (parsed at the edge: it is `unknown` until `parseChatCompletion` accepts it).
 */
import { z } from 'zod';

export type ChatContentPart =
  | { readonly type: 'text'; readonly text: string }
  | { readonly type: 'image_url'; readonly image_url: { readonly url: string } }
  /** A video as vLLM takes it: a URL, or `data:video/jpeg;base64,<frame 1>,<frame 2>,…` (a list of JPEG frames). */
  | { readonly type: 'video_url'; readonly video_url: { readonly url: string } };

export type ChatMessage =
  | { readonly role: 'system'; readonly content: string }
  | { readonly role: 'user'; readonly content: string | readonly ChatContentPart[] }
  | { readonly role: 'assistant'; readonly content: string };

export interface ChatTool {
  readonly type: 'function';
  readonly function: { readonly name: string; readonly description: string; readonly parameters: Readonly<Record<string, unknown>> };
}

export interface ChatRequest {
  readonly model: string;
  readonly messages: readonly ChatMessage[];
  readonly temperature: number;
  readonly max_tokens: number;
  readonly stop?: readonly string[];
  readonly tools?: readonly ChatTool[];
  readonly tool_choice?: 'auto';
  readonly [extra: string]: unknown;
}

const toolCallSchema = z.object({
  id: z.string().optional(),
  type: z.string().optional(),
  function: z.object({
    name: z.string(),
    /** A JSON string per the OpenAI spec; some servers send the object itself. */
    arguments: z.union([z.string(), z.record(z.string(), z.unknown())]).optional(),
  }),
});

const contentSchema = z
  .union([z.string(), z.null(), z.array(z.object({ type: z.string(), text: z.string().optional() }))])
  .optional()
  .transform((c) => (c === undefined || c === null ? '' : typeof c === 'string' ? c : c.map((p) => p.text ?? '').join('')));

export const chatCompletionSchema = z.object({
  choices: z
    .array(
      z.object({
        message: z.object({ content: contentSchema, tool_calls: z.array(toolCallSchema).nullable().optional() }),
        finish_reason: z.string().nullable().optional(),
      }),
    )
    .min(1),
  usage: z
    .object({ prompt_tokens: z.number().optional(), completion_tokens: z.number().optional(), total_tokens: z.number().optional() })
    .nullable()
    .optional(),
});

export type ChatCompletion = z.infer<typeof chatCompletionSchema>;

/** The completion, or why the body is not one. */
export function parseChatCompletion(body: unknown): { ok: true; value: ChatCompletion } | { ok: false; reason: string } {
  const r = chatCompletionSchema.safeParse(body);
  if (r.success) return { ok: true, value: r.data };
  const issue = r.error.issues[0];
  return { ok: false, reason: issue === undefined ? 'not a chat completion' : `${issue.path.map(String).join('.') || '(root)'}: ${issue.message}` };
}
