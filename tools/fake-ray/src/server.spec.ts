import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { argOf, type FakeRay, startFakeRay } from './server';

describe('fake Ray Jobs server', () => {
  let ray: FakeRay;
  let dataset: Server;
  let datasetUrl: string;

  beforeAll(async () => {
    ray = await startFakeRay({ pendingMs: 10, runningMs: 20 });
    dataset = createServer((req, res) => {
      if (req.url === '/missing') return void res.writeHead(404).end();
      res.end('{"messages":[]}\n{"messages":[]}\n{"messages":[]}\n');
    });
    await new Promise<void>((resolve) => dataset.listen(0, '127.0.0.1', resolve));
    datasetUrl = `http://127.0.0.1:${(dataset.address() as AddressInfo).port}/v1.jsonl`;
  });
  afterAll(async () => {
    await ray.close();
    await new Promise((resolve) => dataset.close(resolve));
  });

  const submit = (id: string, entrypoint = `python train.py --dataset-url '${datasetUrl}' --epochs 2`, metadata: Record<string, string> = {}) =>
    fetch(`${ray.url}/api/jobs/`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ entrypoint, submission_id: id, metadata }) });
  const status = async (id: string) => ((await (await fetch(`${ray.url}/api/jobs/${id}`)).json()) as { status: string; message: string }).status;
  const logs = async (id: string) => ((await (await fetch(`${ray.url}/api/jobs/${id}/logs`)).json()) as { logs: string }).logs;
  const settle = async (id: string) => {
    for (let i = 0; i < 100; i++) {
      const s = await status(id);
      if (s !== 'PENDING' && s !== 'RUNNING') return s;
      await new Promise((r) => setTimeout(r, 10));
    }
    throw new Error(`job ${id} did not finish`);
  };

  it('runs a job PENDING → RUNNING → SUCCEEDED, downloading the dataset and printing metrics', async () => {
    const res = await submit('ok-1');
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ job_id: null, submission_id: 'ok-1' });
    expect(['PENDING', 'RUNNING']).toContain(await status('ok-1'));
    expect(await settle('ok-1')).toBe('SUCCEEDED');
    const text = await logs('ok-1');
    expect(text).toContain('loaded 3 examples');
    expect(text).toContain('RAGMESH_TRAINING_METRICS {"train_loss":0.42,"train_examples":3,"epochs":2}');
  });

  it('fails when the dataset cannot be downloaded, and in fail mode', async () => {
    await submit('bad-ds', `python train.py --dataset-url ${datasetUrl.replace('/v1.jsonl', '/missing')}`);
    expect(await settle('bad-ds')).toBe('FAILED');
    expect(await logs('bad-ds')).toMatch(/could not download the dataset.*HTTP 404/u);
    ray.setMode('fail');
    await submit('fail-1');
    expect(await settle('fail-1')).toBe('FAILED');
    expect(await logs('fail-1')).toContain('CUDA out of memory');
    ray.setMode('succeed');
  });

  it('in failFirst mode fails the first attempt of a run and lets its retry succeed', async () => {
    ray.setMode('failFirst');
    await submit('run-a-1', undefined, { run_id: 'a' });
    expect(await settle('run-a-1')).toBe('FAILED');
    await submit('run-a-2', undefined, { run_id: 'a' });
    expect(await settle('run-a-2')).toBe('SUCCEEDED');
    ray.setMode('succeed');
  });

  it('stops a running job, refuses a reused submission id and answers 404 for unknown jobs', async () => {
    await submit('stop-me');
    const stop = await fetch(`${ray.url}/api/jobs/stop-me/stop`, { method: 'POST' });
    expect(await stop.json()).toEqual({ stopped: true });
    expect(await status('stop-me')).toBe('STOPPED');
    expect((await submit('stop-me')).status).toBe(400);
    expect((await fetch(`${ray.url}/api/jobs/nope`)).status).toBe(404);
    expect(() => ray.setMode('explode' as never)).toThrow(/unknown fake-ray mode/u);
  });

  it('reads quoted and bare entrypoint arguments', () => {
    expect(argOf("x --base-model 'Qwen/It'\\''s' --epochs 3", 'base-model')).toBe("Qwen/It's");
    expect(argOf('x --epochs 3', 'epochs')).toBe('3');
    expect(argOf('x', 'epochs')).toBeUndefined();
  });
});
