import { z } from 'zod';
import { envelopeSchema } from './events';

describe('envelope occurredAt', () => {
  it("accepts and refuses exactly what zod's datetime({ offset: true }) does, with the same message", () => {
    const reference = z.string().datetime({ offset: true });
    const samples = [
      '2025-03-04T05:06:07.000Z',
      '2025-03-04T05:06:07Z',
      '2025-03-04T05:06Z',
      '2025-03-04T05:06:07.123456789+09:00',
      '2025-03-04T05:06:07-0530',
      '2024-02-29T00:00:00Z',
      '2023-02-29T00:00:00Z',
      '2025-13-01T00:00:00Z',
      '2025-03-04 05:06:07Z',
      '2025-03-04T05:06:07',
      '2025-03-04',
      'yesterday',
      '',
    ];
    for (const occurredAt of samples) {
      const ours = envelopeSchema.safeParse({ id: 'e', type: 't', version: 1, occurredAt, payload: {} });
      const theirs = reference.safeParse(occurredAt);
      expect({ occurredAt, ok: ours.success }).toEqual({ occurredAt, ok: theirs.success });
      if (!ours.success && !theirs.success) expect(ours.error.issues[0].message).toBe(theirs.error.issues[0].message);
    }
  });
});
