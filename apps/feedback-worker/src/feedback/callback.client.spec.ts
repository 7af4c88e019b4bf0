import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { AxiosCallbackClient, classifyCallbackStatus } from './callback.client';
import { verifySignature } from './signature';

describe('classifyCallbackStatus', () => {
  it.each([200, 201, 202, 204])('%s is delivered', (s) => expect(classifyCallbackStatus(s)).toBe('delivered'));
  it.each([301, 400, 401, 403, 404, 410, 422])('%s is a permanent refusal', (s) => expect(classifyCallbackStatus(s)).toBe('rejected'));
  it.each([408, 429, 500, 502, 503, 504])('%s is retried', (s) => expect(classifyCallbackStatus(s)).toBe('retry'));
});

describe('AxiosCallbackClient', () => {
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

  it('POSTs the JSON body signed with the shared secret, a timestamp and the delivery id', async () => {
    const client = new AxiosCallbackClient({ signingSecret: 'shh', timeoutMs: 2_000 });
    const before = Math.floor(Date.now() / 1000);

    await expect(client.deliver(url, 'job-1', { memberId: 'm-7', content: '잘하고 있어요.' })).resolves.toEqual({ status: 204 });

    expect(received).toHaveLength(1);
    const [{ headers, body }] = received;
    expect(JSON.parse(body)).toEqual({ memberId: 'm-7', content: '잘하고 있어요.' });
    expect(headers['content-type']).toBe('application/json');
    expect(verifySignature('shh', body, headers['x-ragmesh-signature'] as string)).toBe(true);
    expect(Number(headers['x-ragmesh-timestamp'])).toBeGreaterThanOrEqual(before);
    expect(headers['x-ragmesh-delivery-id']).toBe('job-1');
  });

  it('sends the per-request auth header only when given', async () => {
    const client = new AxiosCallbackClient({ signingSecret: 'shh', timeoutMs: 2_000 });
    await client.deliver(url, 'job-4', { memberId: 'm', content: 'c', jobId: 'job-4' }, { authHeader: 'Bearer product-token' });
    await client.deliver(url, 'job-5', { memberId: 'm', content: 'c' });
    expect(received.map((r) => r.headers.authorization)).toEqual(['Bearer product-token', undefined]);
    expect(JSON.parse(received[0].body)).toEqual({ memberId: 'm', content: 'c', jobId: 'job-4' });
  });

  it('reports error statuses instead of throwing', async () => {
    answer = 503;
    const client = new AxiosCallbackClient({ signingSecret: 'shh', timeoutMs: 2_000 });
    await expect(client.deliver(url, 'job-2', { memberId: 'm', content: 'c' })).resolves.toEqual({ status: 503 });
  });

  it('rejects on a network failure', async () => {
    const client = new AxiosCallbackClient({ signingSecret: 'shh', timeoutMs: 2_000 });
    // Port 1 on loopback: nothing listens there.
    await expect(client.deliver('http://127.0.0.1:1/cb', 'job-3', { memberId: 'm', content: 'c' })).rejects.toThrow();
  });
});
