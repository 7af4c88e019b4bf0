import { Controller, Get, INestApplication } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { Logger } from 'nestjs-pino';
import { setTimeout as sleep } from 'node:timers/promises';
import { AddressInfo } from 'node:net';
import { getCorrelationId, MetricsService, ObservabilityModule } from './index';

@Controller()
class ProbeController {
  constructor(private readonly metrics: MetricsService) {}

  @Get('probe')
  async probe(): Promise<{ correlationId: string | undefined }> {
    await sleep(1);
    this.metrics.counter('ragmesh_module_probe_total', 'probe calls').inc();
    return { correlationId: getCorrelationId() };
  }
}

describe('ObservabilityModule', () => {
  let app: INestApplication;
  let base: string;

  beforeAll(async () => {
    const moduleRef = await Test.createTestingModule({
      imports: [ObservabilityModule.forRoot({ service: 'module-test', level: 'silent' })],
      controllers: [ProbeController],
    }).compile();
    app = moduleRef.createNestApplication({ bufferLogs: true });
    app.useLogger(app.get(Logger));
    await app.listen(0, '127.0.0.1');
    base = `http://127.0.0.1:${(app.getHttpServer().address() as AddressInfo).port}`;
  });

  afterAll(() => app.close());

  it("runs requests inside the caller's correlation id and echoes it", async () => {
    const res = await fetch(`${base}/probe`, { headers: { 'x-correlation-id': 'nest-caller-9' } });
    expect(res.status).toBe(200);
    expect(res.headers.get('x-correlation-id')).toBe('nest-caller-9');
    expect(await res.json()).toEqual({ correlationId: 'nest-caller-9' });
  });

  it('gives requests without an id a fresh one, the same in header and context', async () => {
    const res = await fetch(`${base}/probe`);
    const id = res.headers.get('x-correlation-id');
    expect(id).toMatch(/^[0-9a-f-]{36}$/);
    expect(await res.json()).toEqual({ correlationId: id });
  });

  it('provides MetricsService on the process-wide registry', async () => {
    const metrics = app.get(MetricsService);
    expect(await metrics.metrics()).toMatch(/module_probe_total\{service="module-test"\} \d/);
  });
});
