import axios, { AxiosInstance } from 'axios';
import { z } from 'zod';
import { readUpstreamMetrics, UpstreamMetrics } from '../models/upstream-metrics';

export interface ServedModel {
  id: string;
  /** vLLM lists a LoRA adapter with the base model it applies to as its parent. */
  parent: string | null;
}

export interface ProbeResult {
  up: boolean;
  models: string[];
  error: string | null;
  served?: ServedModel[];
  metrics?: UpstreamMetrics;
  /** Why /metrics could not be read; the upstream still counts as up. */
  metricsError?: string;
}

const modelList = z.object({ data: z.array(z.object({ id: z.string().min(1), parent: z.string().nullish() })) });

// Error bodies can be whole HTML pages; the stored reason stays readable.
const MAX_ERROR_CHARS = 300;

const describe = (err: unknown): string => {
  if (axios.isAxiosError(err)) return `${err.code ?? 'error'}: ${err.message}`;
  return err instanceof Error ? err.message : String(err);
};

/** Asks one upstream whether it is healthy and what it serves; an adapter so tests can swap it. */
export abstract class UpstreamProber {
  abstract probe(baseUrl: string): Promise<ProbeResult>;
}

export class HttpUpstreamProber extends UpstreamProber {
  private readonly http: AxiosInstance;

  constructor(timeoutMs: number) {
    super();
    this.http = axios.create({ timeout: timeoutMs, validateStatus: () => true });
  }

  async probe(baseUrl: string): Promise<ProbeResult> {
    try {
      const health = await this.http.get<unknown>(`${baseUrl}/health`);
      if (health.status !== 200) return this.down(`GET /health answered HTTP ${health.status}`);
      const models = await this.http.get<unknown>(`${baseUrl}/v1/models`);
      if (models.status !== 200) return this.down(`GET /v1/models answered HTTP ${models.status}`);
      const parsed = modelList.safeParse(models.data);
      if (!parsed.success) return this.down('GET /v1/models: response has no data[].id list');
      const served = parsed.data.data.map((m) => ({ id: m.id, parent: m.parent ?? null }));
      return { up: true, models: served.map((m) => m.id), error: null, served, ...(await this.metrics(baseUrl)) };
    } catch (err) {
      return this.down(describe(err));
    }
  }

  /** Metrics are optional: a Ray Serve endpoint may not expose vLLM's. */
  private async metrics(baseUrl: string): Promise<Pick<ProbeResult, 'metrics' | 'metricsError'>> {
    try {
      const res = await this.http.get<string>(`${baseUrl}/metrics`, { responseType: 'text' });
      if (res.status !== 200) return { metricsError: `GET /metrics answered HTTP ${res.status}` };
      return { metrics: readUpstreamMetrics(res.data) };
    } catch (err) {
      return { metricsError: describe(err).slice(0, MAX_ERROR_CHARS) };
    }
  }

  private down(error: string): ProbeResult {
    return { up: false, models: [], error: error.slice(0, MAX_ERROR_CHARS) };
  }
}
