import axios, { AxiosInstance } from 'axios';

export interface LoraCallResult {
  ok: boolean;
  durationSeconds: number;
  error: string | null;
}

/** vLLM's dynamic LoRA endpoints (the server runs with VLLM_ALLOW_RUNTIME_LORA_UPDATING=True). */
export abstract class LoraClient {
  abstract load(baseUrl: string, name: string, path: string): Promise<LoraCallResult>;
  abstract unload(baseUrl: string, name: string): Promise<LoraCallResult>;
}

const MAX_ERROR_CHARS = 300;
// vLLM's answers when the wanted state already holds: loading and unloading are idempotent for callers.
const ALREADY_LOADED = /has already been loaded/u;
const NOT_FOUND = /cannot be found/u;

export class HttpLoraClient extends LoraClient {
  private readonly http: AxiosInstance;

  constructor(timeoutMs: number) {
    super();
    this.http = axios.create({ timeout: timeoutMs, validateStatus: () => true, responseType: 'text' });
  }

  load(baseUrl: string, name: string, path: string): Promise<LoraCallResult> {
    return this.call(`${baseUrl}/v1/load_lora_adapter`, { lora_name: name, lora_path: path }, ALREADY_LOADED);
  }

  unload(baseUrl: string, name: string): Promise<LoraCallResult> {
    return this.call(`${baseUrl}/v1/unload_lora_adapter`, { lora_name: name }, NOT_FOUND);
  }

  private async call(url: string, body: Record<string, string>, alreadyDone: RegExp): Promise<LoraCallResult> {
    const started = process.hrtime.bigint();
    const seconds = () => Number(process.hrtime.bigint() - started) / 1e9;
    try {
      const res = await this.http.post<string>(url, body, { headers: { 'content-type': 'application/json' } });
      if ((res.status >= 200 && res.status < 300) || alreadyDone.test(String(res.data))) return { ok: true, durationSeconds: seconds(), error: null };
      return { ok: false, durationSeconds: seconds(), error: `HTTP ${res.status}: ${String(res.data).slice(0, MAX_ERROR_CHARS)}` };
    } catch (err) {
      return { ok: false, durationSeconds: seconds(), error: (err instanceof Error ? err.message : String(err)).slice(0, MAX_ERROR_CHARS) };
    }
  }
}
