import { CallbackReceiver } from './callback-receiver';

const post = (url: string, body: unknown, webhookId: string): Promise<Response> =>
  fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', 'webhook-id': webhookId }, body: JSON.stringify(body) });

describe('CallbackReceiver', () => {
  let receiver: CallbackReceiver;

  beforeEach(async () => {
    receiver = await CallbackReceiver.start();
  });

  afterEach(async () => {
    await receiver.close();
  });

  it('counts accepted deliveries by job id and reports repeats with their webhook-ids', async () => {
    await post(receiver.url(), { jobId: 'a' }, 'a');
    await post(receiver.url(), { jobId: 'b' }, 'b');
    await post(receiver.url(), { jobId: 'a' }, 'a');
    expect([...receiver.deliveredJobIds()].sort()).toEqual(['a', 'b']);
    expect(receiver.duplicates()).toEqual([{ jobId: 'a', webhookIds: ['a', 'a'] }]);
    await expect(receiver.waitForJobs(['a', 'b'], 100)).resolves.toBeUndefined();
    await expect(receiver.waitForJobs(['a', 'c'], 100)).rejects.toThrow('1 of 2 jobs not delivered');
  });

  it('does not count deliveries it answered with an error status', async () => {
    receiver.respondWith(503);
    expect((await post(receiver.url(), { jobId: 'x' }, 'x')).status).toBe(503);
    receiver.respondWith(200);
    expect(receiver.deliveredJobIds().size).toBe(0);
    expect(receiver.requests()).toHaveLength(1);
  });

  it('refuses connections while down and takes them again on the same port', async () => {
    const url = receiver.url('/cb');
    await receiver.down();
    await expect(post(url, { jobId: 'x' }, 'x')).rejects.toThrow();
    await receiver.up();
    expect((await post(url, { jobId: 'x' }, 'x')).status).toBe(200);
    expect(receiver.deliveriesOf('x')).toHaveLength(1);
  });
});
