import { randomBytes, randomUUID } from 'node:crypto';
import { Webhook, WebhookVerificationError } from 'standardwebhooks';
import { secretProblem, WEBHOOK_ID_HEADER, WEBHOOK_SIGNATURE_HEADER, WEBHOOK_TIMESTAMP_HEADER, WebhookSigner } from './signature';

// The example of the Standard Webhooks / Svix documentation.
const SPEC_SECRET = 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw';

describe('WebhookSigner (Standard Webhooks)', () => {
  it('matches the reference signature: v1,base64(HMAC-SHA256(secret, id.timestamp.body))', () => {
    const headers = new WebhookSigner(SPEC_SECRET).headers('msg_p5jXN8AQM9LWM0D4loKWxJek', Buffer.from('{"test": 2432232314}'), new Date(1614265330_000));
    expect(headers).toEqual({
      [WEBHOOK_ID_HEADER]: 'msg_p5jXN8AQM9LWM0D4loKWxJek',
      [WEBHOOK_TIMESTAMP_HEADER]: '1614265330',
      [WEBHOOK_SIGNATURE_HEADER]: 'v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=',
    });
  });

  it('is verified by the standardwebhooks library, and only for the same body and secret', () => {
    const body = Buffer.from(JSON.stringify({ memberId: 'm-1', content: '이번 주 운동량이 늘었습니다.', jobId: 'j-1' }), 'utf8');
    const headers = new WebhookSigner(SPEC_SECRET).headers('j-1', body);
    expect(new Webhook(SPEC_SECRET).verify(body.toString('utf8'), headers)).toEqual({ memberId: 'm-1', content: '이번 주 운동량이 늘었습니다.', jobId: 'j-1' });
    const other = `whsec_${Buffer.alloc(32, 1).toString('base64')}`;
    expect(() => new Webhook(other).verify(body.toString('utf8'), headers)).toThrow(WebhookVerificationError);
    expect(() => new Webhook(SPEC_SECRET).verify(body.toString('utf8').replace('m-1', 'm-2'), headers)).toThrow(WebhookVerificationError);
    expect(() => new Webhook(SPEC_SECRET).verify(body.toString('utf8'), { ...headers, [WEBHOOK_ID_HEADER]: 'j-2' })).toThrow(WebhookVerificationError);
  });

  it('produces exactly the standardwebhooks library\'s signature for any id, time, body and secret', () => {
    const bodies = ['', '{}', JSON.stringify({ memberId: 'm', content: '목표의 80% 이상을 달성한 챌린지가 3개 연속으로 이어졌습니다. 🎉', jobId: 'j' }), 'x'.repeat(70_000)];
    for (let i = 0; i < 40; i += 1) {
      const secret = `whsec_${randomBytes(24 + (i % 41)).toString('base64')}`;
      const id = i % 2 === 0 ? randomUUID() : `msg_${randomBytes(9).toString('hex')}`;
      const body = Buffer.from(bodies[i % bodies.length] + randomBytes(i).toString('base64'), 'utf8');
      const at = new Date(1_600_000_000_000 + i * 1_234_567_891);
      const headers = new WebhookSigner(secret).headers(id, body, at);
      expect(headers[WEBHOOK_SIGNATURE_HEADER]).toBe(new Webhook(secret).sign(id, at, body));
      expect(headers[WEBHOOK_TIMESTAMP_HEADER]).toBe(String(Math.floor(at.getTime() / 1000)));
    }
  });

  it('refuses a secret the spec does not allow instead of signing with it', () => {
    expect(() => new WebhookSigner('whsec_%%%')).toThrow(/base64/);
    expect(() => new WebhookSigner(`whsec_${Buffer.alloc(8).toString('base64')}`)).toThrow(/got 8/);
  });

  it('keeps the id across attempts while the timestamp and signature follow the attempt', () => {
    const signer = new WebhookSigner(SPEC_SECRET);
    const body = Buffer.from('{}');
    const first = signer.headers('job-1', body, new Date(1_700_000_000_000));
    const retry = signer.headers('job-1', body, new Date(1_700_000_060_000));
    expect(retry[WEBHOOK_ID_HEADER]).toBe(first[WEBHOOK_ID_HEADER]);
    expect(retry[WEBHOOK_SIGNATURE_HEADER]).not.toBe(first[WEBHOOK_SIGNATURE_HEADER]);
  });
});

describe('secretProblem', () => {
  it('accepts a whsec_ secret of 24–64 bytes', () => {
    expect(secretProblem(SPEC_SECRET)).toBeUndefined();
    expect(secretProblem(`whsec_${Buffer.alloc(64).toString('base64')}`)).toBeUndefined();
  });
  it.each([
    ['plain text', 'shh', /start with whsec_/],
    ['not base64', 'whsec_%%%', /base64/],
    ['too short', `whsec_${Buffer.alloc(16).toString('base64')}`, /got 16/],
    ['too long', `whsec_${Buffer.alloc(65).toString('base64')}`, /got 65/],
  ])('refuses %s', (_what, secret, reason) => expect(secretProblem(secret)).toMatch(reason));
});
