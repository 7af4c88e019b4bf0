import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { OutboundError } from '@ragmesh/outbound';
import { Webhook } from 'standardwebhooks';
import { classifyCallbackStatus, OutboundCallbackClient } from './callback.client';

const SECRET = `whsec_${Buffer.alloc(32, 9).toString('base64')}`;
const LOOPBACK = '127.0.0.0/8,::1';
const client = (allowList = LOOPBACK) => new OutboundCallbackClient({ signingSecret: SECRET, timeoutMs: 2_000, allowList });

describe('classifyCallbackStatus', () => {
  it.each([200, 201, 202, 204])('%s is delivered', (s) => expect(classifyCallbackStatus(s)).toBe('delivered'));
  it.each([301, 400, 401, 403, 404, 410, 422])('%s is a permanent refusal', (s) => expect(classifyCallbackStatus(s)).toBe('rejected'));
  it.each([408, 429, 500, 502, 503, 504])('%s is retried', (s) => expect(classifyCallbackStatus(s)).toBe('retry'));
});

describe('OutboundCallbackClient', () => {
  let server: Server;
  let url: string;
  let received: { headers: IncomingHttpHeaders; body: string }[];
  let answer: number;

  beforeAll(async () => {
    server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        received.push({ headers: req.headers, body: Buffer.concat(chunks).toString('utf8') });
        res.writeHead(answer).end();
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/callbacks/feedback`;
  });
  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));
  beforeEach(() => {
    received = [];
    answer = 204;
  });

  it('POSTs the JSON body with Standard Webhooks headers that the standardwebhooks library verifies', async () => {
    const before = Math.floor(Date.now() / 1000);

    await expect(client().deliver(url, 'job-1', { memberId: 'm-7', content: '잘하고 있어요.' })).resolves.toEqual({ status: 204 });

    expect(received).toHaveLength(1);
    const [{ headers, body }] = received;
    expect(headers['content-type']).toBe('application/json');
    expect(headers['webhook-id']).toBe('job-1');
    expect(Number(headers['webhook-timestamp'])).toBeGreaterThanOrEqual(before);
    expect(headers['webhook-signature']).toMatch(/^v1,[A-Za-z0-9+/]+=*$/);
    const verified = new Webhook(SECRET).verify(body, headers as Record<string, string>);
    expect(verified).toEqual({ memberId: 'm-7', content: '잘하고 있어요.' });
  });

  it('refuses a loopback callback target unless it is allow-listed, without sending anything', async () => {
    const failure = client('').deliver(url, 'job-9', { memberId: 'm', content: 'c' });
    await expect(failure).rejects.toBeInstanceOf(OutboundError);
    await expect(failure).rejects.toMatchObject({ code: 'BLOCKED_ADDRESS', retryable: false });
    expect(received).toHaveLength(0);
  });

  it('sends the per-request auth header only when given', async () => {
    await client().deliver(url, 'job-4', { memberId: 'm', content: 'c', jobId: 'job-4' }, { authHeader: 'Bearer product-token' });
    await client().deliver(url, 'job-5', { memberId: 'm', content: 'c' });
    expect(received.map((r) => r.headers.authorization)).toEqual(['Bearer product-token', undefined]);
    expect(JSON.parse(received[0].body)).toEqual({ memberId: 'm', content: 'c', jobId: 'job-4' });
  });

  it('reports error statuses instead of throwing', async () => {
    answer = 503;
    await expect(client().deliver(url, 'job-2', { memberId: 'm', content: 'c' })).resolves.toEqual({ status: 503 });
  });

  it('rejects on a network failure', async () => {
    // Port 1 on loopback: nothing listens there.
    await expect(client().deliver('http://127.0.0.1:1/cb', 'job-3', { memberId: 'm', content: 'c' })).rejects.toMatchObject({ code: 'NETWORK', retryable: true });
  });
});
