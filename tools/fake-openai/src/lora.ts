import type { ServerResponse } from 'node:http';
import { HttpError, readJson } from './http';
import type { FakeContext, FakeRoute } from './routes';

/**
 * vLLM's dynamic LoRA endpoints (enabled there by VLLM_ALLOW_RUNTIME_LORA_UPDATING=True):
 * POST /v1/load_lora_adapter {lora_name, lora_path} and POST /v1/unload_lora_adapter {lora_name}.
 * A loaded adapter joins the model list (/v1/models shows it with the base model as parent, and
 * chat completions accept it). Success answers are plain text like vLLM's; errors are 400/404
 * in the OpenAI shape. A lora_path containing "does-not-exist" fails like a missing directory.
 */

export const MISSING_ADAPTER_MARKER = 'does-not-exist';

function sendText(res: ServerResponse, text: string): void {
  res.writeHead(200, { 'Content-Type': 'text/plain; charset=utf-8', 'Content-Length': Buffer.byteLength(text) });
  res.end(text);
}

async function field(req: Parameters<FakeRoute['handle']>[0], names: string[]): Promise<Record<string, string>> {
  const body = await readJson(req);
  if (typeof body !== 'object' || body === null || Array.isArray(body)) throw new HttpError(400, 'request body must be a JSON object');
  const out: Record<string, string> = {};
  for (const name of names) {
    const value = (body as Record<string, unknown>)[name];
    if (typeof value !== 'string' || value === '') throw new HttpError(400, `${names.join(' and ')} must be provided.`, name);
    out[name] = value;
  }
  return out;
}

async function load(req: Parameters<FakeRoute['handle']>[0], res: ServerResponse, ctx: FakeContext): Promise<void> {
  const { lora_name: name, lora_path: path } = await field(req, ['lora_name', 'lora_path']);
  if (name === ctx.modelId || ctx.models.has(name)) throw new HttpError(400, `The lora adapter '${name}' has already been loaded.`, 'lora_name');
  if (path.includes(MISSING_ADAPTER_MARKER)) throw new HttpError(400, `Loading lora ${name} failed: No adapter found for ${path}`, 'lora_path');
  ctx.models.add(name);
  sendText(res, `Success: LoRA adapter '${name}' added successfully.`);
}

async function unload(req: Parameters<FakeRoute['handle']>[0], res: ServerResponse, ctx: FakeContext): Promise<void> {
  const { lora_name: name } = await field(req, ['lora_name']);
  if (name === ctx.modelId || !ctx.models.delete(name)) throw new HttpError(404, `The lora adapter '${name}' cannot be found.`, 'lora_name');
  sendText(res, `Success: LoRA adapter '${name}' removed successfully.`);
}

export const loraRoutes: FakeRoute[] = [
  { method: 'POST', path: '/v1/load_lora_adapter', handle: load },
  { method: 'POST', path: '/v1/unload_lora_adapter', handle: unload },
];
