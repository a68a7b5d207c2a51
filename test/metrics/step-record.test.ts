/**
 * The step record schema: readers keep fields they do not know (a newer writer must not break an older dashboard),
 * the exact schema the writer is held to refuses them, and known fields keep their documented types.
 */
import { describe, expect, it } from 'vitest';
import { isVrGrpoError } from '../../src/errors/index.js';
import { parseStepRecord, stepRecordSchema, strictStepRecordSchema } from '../../src/metrics/index.js';

const heldOut = {
  split: 'heldout',
  prompts: 32,
  accuracy: 0.5,
  allCorrect: 0.25,
  perAttribute: { color: 0.5 },
  quality: 0.9,
  withEvents: { prompts: 8, accuracy: 0.4 },
};
const record = {
  time: '2026-12-05T06:00:00.000Z',
  step: 3,
  reward: { combined: 0.5, TA: 0.4 },
  rmVersions: ['rm-v2'],
  timing: { generateMs: 10, judgeMs: 20, updateMs: 1 },
  heldOutGoldAccuracy: 0.5,
  heldOut,
  drift: { psi: { combined: 0.01 }, page_hinkley: { combined: 0 } },
  anchors: { step: 3, reason: 'scheduled', rmVersions: ['rm-v2'], judgments: 8, failedJudgments: 0, means: { TA: 0.5 }, meanShift: {}, kendallTau: {} },
};

describe('step record schema', () => {
  it('accepts a full record in both the reading and the exact form', () => {
    expect(strictStepRecordSchema.safeParse(record).success).toBe(true);
    expect(parseStepRecord(record).heldOut?.withEvents?.accuracy).toBe(0.4);
  });

  it('keeps an unknown field when reading, refuses it in the exact form', () => {
    const withExtra = { ...record, newMetric: 1 };
    expect(stepRecordSchema.parse(withExtra)).toMatchObject({ newMetric: 1 });
    const strict = strictStepRecordSchema.safeParse(withExtra);
    expect(strict.success).toBe(false);
    expect(strict.error?.issues.map((i) => i.code)).toEqual(['unrecognized_keys']);
    // Nested objects are exact too: an undeclared key in the held-out summary fails.
    expect(strictStepRecordSchema.safeParse({ ...record, heldOut: { ...heldOut, extra: true } }).success).toBe(false);
  });

  it('refuses a known field of the wrong type or an unbounded label key with INVALID_ARGUMENT naming the field', () => {
    for (const [bad, field] of [
      [{ ...record, rmVersions: 'rm-v2' }, 'rmVersions'],
      [{ ...record, reward: { bogus: 1 } }, 'reward'],
      [{ ...record, heldOut: { ...heldOut, split: 'test' } }, 'heldOut.split'],
      [{ ...record, failuresByCode: { 'not a code': 1 } }, 'failuresByCode'],
      [{ step: -1 }, 'step'],
    ] as const) {
      let caught: unknown;
      try {
        parseStepRecord(bad);
      } catch (error) {
        caught = error;
      }
      expect(isVrGrpoError(caught, 'INVALID_ARGUMENT')).toBe(true);
      expect(isVrGrpoError(caught) ? String(caught.details.field) : '').toContain(field);
    }
  });
});
