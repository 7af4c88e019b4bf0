import { signBody, verifySignature } from './signature';

describe('callback signature', () => {
  it('is sha256= and the hex HMAC-SHA256 of the body with the shared secret', () => {
    // The RFC-style test vector for HMAC-SHA256.
    expect(signBody('key', 'The quick brown fox jumps over the lazy dog')).toBe(
      'sha256=f7bc83f430538424b13298e6aa6fb143ef4d59a14946175997479dbc2d1a3cd8',
    );
  });

  it('signs bytes and strings alike (UTF-8)', () => {
    const body = JSON.stringify({ memberId: 'm-1', content: '이번 주 운동량이 늘었습니다.' });
    expect(signBody('s3cret', Buffer.from(body, 'utf8'))).toBe(signBody('s3cret', body));
  });

  it('verifies only the matching body and secret', () => {
    const body = '{"memberId":"m-1","content":"hi"}';
    const signature = signBody('s3cret', body);
    expect(verifySignature('s3cret', body, signature)).toBe(true);
    expect(verifySignature('other', body, signature)).toBe(false);
    expect(verifySignature('s3cret', body.replace('hi', 'ho'), signature)).toBe(false);
    expect(verifySignature('s3cret', body, undefined)).toBe(false);
    expect(verifySignature('s3cret', body, 'sha256=short')).toBe(false);
  });
});
