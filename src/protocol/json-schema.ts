/** JSON Schema export of the protocol (for clients in other languages): `vr-grpo protocol-schema` writes it. */
import { z } from 'zod';
import { PROTOCOL_VERSION, clientMessageSchema, serverMessageSchema } from './messages.js';

export function protocolJsonSchema(): Record<string, unknown> {
  return {
    $schema: 'https://json-schema.org/draft/2020-12/schema',
    title: `vr-grpo reward-server protocol v${PROTOCOL_VERSION}`,
    $defs: {
      ClientMessage: z.toJSONSchema(clientMessageSchema, { unrepresentable: 'any', io: 'input' }),
      ServerMessage: z.toJSONSchema(serverMessageSchema, { unrepresentable: 'any', io: 'output' }),
    },
  };
}
