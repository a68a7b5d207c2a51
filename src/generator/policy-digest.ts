/**
 * The policy digest: lower-case hex SHA-256 of the trainable parameters as little-endian float32, by parameter name in
 * code-unit order, each preceded by its name and length. Two generators with equal digests serve the same policy —
 * what lets a coordinator prove that several workers are in step (docs/generator-protocol.md "Policy identity").
 */
import { createHash } from 'node:crypto';

export function policyDigest(parameters: ReadonlyMap<string, Float32Array>): string {
  const hash = createHash('sha256');
  const names = [...parameters.keys()].sort();
  for (const name of names) {
    const values = parameters.get(name) ?? new Float32Array(0);
    const header = Buffer.alloc(4);
    header.writeUInt32LE(values.length);
    hash.update(name, 'utf8').update(header);
    const bytes = Buffer.alloc(values.length * 4);
    for (let i = 0; i < values.length; i++) bytes.writeFloatLE(values[i] ?? 0, i * 4);
    hash.update(bytes);
  }
  return hash.digest('hex');
}
