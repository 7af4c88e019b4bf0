import type { IncomingMessage, ServerResponse } from 'node:http';

/**
 * What a route of the fake may use. `models` is the live list /v1/models answers and chat
 * completions accept: a LoRA route may add or remove adapter names in it.
 */
export interface FakeContext {
  readonly modelId: string;
  readonly created: number;
  readonly models: Set<string>;
}

/**
 * One HTTP route of the fake. Adding an endpoint = a new file exporting `FakeRoute`s and one
 * entry in the `routes` list of server.ts. Throw `HttpError` (./http) for an OpenAI-style error.
 */
export interface FakeRoute {
  method: 'GET' | 'POST' | 'PUT' | 'DELETE';
  path: string;
  handle(req: IncomingMessage, res: ServerResponse, ctx: FakeContext): Promise<void> | void;
}
