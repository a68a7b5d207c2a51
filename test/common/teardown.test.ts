import { describe, expect, it } from 'vitest';
import { Teardown } from '../../src/common/teardown.js';

describe('Teardown', () => {
  it('runs every step last-in first-out, once', async () => {
    const t = new Teardown();
    const ran: string[] = [];
    for (const name of ['generator', 'pool', 'monitoring']) t.add(name, () => Promise.resolve(void ran.push(name)));
    await t.run();
    await t.run();
    expect(ran).toEqual(['monitoring', 'pool', 'generator']);
  });

  it('runs the other steps when one fails, then throws that failure as it was', async () => {
    const t = new Teardown();
    const ran: string[] = [];
    const failure = new Error('port stuck');
    t.add('a', () => Promise.resolve(void ran.push('a')));
    t.add('b', () => Promise.reject(failure));
    t.add('c', () => Promise.resolve(void ran.push('c')));
    await expect(t.run()).rejects.toBe(failure);
    expect(ran).toEqual(['c', 'a']);
  });

  it('throws several failures together, naming each step', async () => {
    const t = new Teardown();
    let ran = false;
    t.add('closing the generator', () => Promise.reject(new Error('busy')));
    t.add('middle', () => Promise.resolve(void (ran = true)));
    t.add('stopping the servers', () => {
      throw new Error('gone');
    });
    const error = await t.run().catch((e: unknown) => e);
    expect(ran).toBe(true);
    expect(error).toBeInstanceOf(AggregateError);
    expect((error as AggregateError).errors).toHaveLength(2);
    expect((error as Error).message).toBe('2 cleanup steps failed: stopping the servers: gone; closing the generator: busy');
  });
});
