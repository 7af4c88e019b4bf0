import { canonicalJson, requestHash } from './idempotency';

/** The first implementation, whose hashes are stored in feedback_jobs.request_hash: the output must stay byte for byte the same. */
function reference(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(reference).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${reference(v)}`).join(',')}}`;
  }
  return JSON.stringify(value);
}

const request = {
  memberId: 'member-7',
  startDate: '2024-05-01T00:00:00.000Z',
  endDate: '2024-05-31T23:59:59.000Z',
  activity: { challenges: [{ title: '만보 걷기', category: 'walking', achieved: 18, total: 31, startDate: undefined }] },
  callbackUrl: 'https://backend.example/api/feedback/',
  callbackAuthHeader: 'Bearer abc',
};

describe('canonicalJson / requestHash', () => {
  it('hashes a request as it always has (a hash stored before this build still matches)', () => {
    expect(requestHash(request)).toBe('e98edfc8f71b90e5a83340f57c43dc0e40587d29863c158d2ee52b67730cac22');
  });

  it('writes what the first implementation wrote, for every kind of value', () => {
    const values: unknown[] = [
      request,
      {},
      [],
      null,
      0,
      -1.5,
      'text "quoted" \\ back\nline',
      true,
      [1, undefined, null, 'a', [[]], {}],
      { b: 1, a: { d: [3, { z: 1, y: undefined, x: null }], c: 'é' }, B: 2, _: 3, 'key with "quote"': 4, '10': 5, '9': 6 },
      { emoji: '🏃', upper: 'Z', lower: 'a', '\u00e9': 1, 'e\u0301': 2 },
      [{ only: undefined }],
    ];
    for (const value of values) expect(canonicalJson(value)).toBe(reference(value));
  });

  it('is independent of key order and drops undefined members', () => {
    const reordered = { callbackAuthHeader: request.callbackAuthHeader, activity: request.activity, memberId: request.memberId, callbackUrl: request.callbackUrl, endDate: request.endDate, startDate: request.startDate, extra: undefined };
    expect(requestHash(reordered)).toBe(requestHash(request));
    expect(canonicalJson({ b: [2, 1], a: 1 })).toBe('{"a":1,"b":[2,1]}');
  });
});
