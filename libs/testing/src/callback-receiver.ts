import { createServer, type IncomingHttpHeaders, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/** One POST the receiver took (any status it answered). */
export interface ReceivedCallback {
  /** From the body's `jobId`, else the `webhook-id` header. */
  jobId: string;
  webhookId?: string;
  headers: IncomingHttpHeaders;
  /** The raw body, for signature checks. */
  body: string;
  receivedAt: number;
  /** What the receiver answered. */
  status: number;
}

export interface DuplicateDelivery {
  jobId: string;
  /** The `webhook-id` of each accepted delivery, in arrival order. */
  webhookIds: (string | undefined)[];
}

const POLL_MS = 50;

/**
 * A product backend's callback endpoint for tests and benchmarks: counts accepted deliveries
 * by job id and can go down (connections refused) or answer an error status for a while.
 */
export class CallbackReceiver {
  /** Deliveries answered 2xx, by job id. */
  private readonly accepted = new Map<string, ReceivedCallback[]>();
  private readonly all: ReceivedCallback[] = [];
  private status = 200;
  private readonly listeners: ((delivery: ReceivedCallback) => void)[] = [];

  private constructor(
    private server: Server,
    readonly port: number,
  ) {}

  /** Listens on a free port of 127.0.0.1. */
  static async start(): Promise<CallbackReceiver> {
    const holder: { receiver?: CallbackReceiver } = {};
    const server = createServer((req, res) => holder.receiver?.onRequest(req, res));
    const port = await listen(server, 0);
    holder.receiver = new CallbackReceiver(server, port);
    return holder.receiver;
  }

  /** The callback URL to hand to POST /v1/feedback; `path` lets tests tell targets apart. */
  url(path = '/callback'): string {
    return `http://127.0.0.1:${this.port}${path}`;
  }

  /** Answer every following request with this HTTP status (200 = accept). */
  respondWith(status: number): void {
    this.status = status;
  }

  /** Stops listening and drops open connections: callers get ECONNREFUSED until up(). */
  async down(): Promise<void> {
    await new Promise<void>((resolve) => {
      this.server.close(() => resolve());
      this.server.closeAllConnections();
    });
  }

  /** Listens again on the same port. */
  async up(): Promise<void> {
    const server = createServer((req, res) => this.onRequest(req, res));
    await listen(server, this.port);
    this.server = server;
  }

  /** Called for every request taken (after the answer's status is chosen). */
  onDelivery(listener: (delivery: ReceivedCallback) => void): void {
    this.listeners.push(listener);
  }

  /** Job ids with at least one accepted delivery. */
  deliveredJobIds(): Set<string> {
    return new Set(this.accepted.keys());
  }

  deliveriesOf(jobId: string): ReceivedCallback[] {
    return this.accepted.get(jobId) ?? [];
  }

  /** Every request taken, accepted or not. */
  requests(): readonly ReceivedCallback[] {
    return this.all;
  }

  /** Jobs accepted more than once, with the webhook-id each time. */
  duplicates(): DuplicateDelivery[] {
    return [...this.accepted.entries()].filter(([, list]) => list.length > 1).map(([jobId, list]) => ({ jobId, webhookIds: list.map((d) => d.webhookId) }));
  }

  /** Resolves once every id in `jobIds` has an accepted delivery; rejects naming how many are missing. */
  async waitForJobs(jobIds: readonly string[], timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const missing = jobIds.filter((id) => !this.accepted.has(id));
      if (missing.length === 0) return;
      if (Date.now() > deadline) throw new Error(`${missing.length} of ${jobIds.length} jobs not delivered after ${timeoutMs} ms (e.g. ${missing.slice(0, 3).join(', ')})`);
      await new Promise((resolve) => setTimeout(resolve, POLL_MS));
    }
  }

  async close(): Promise<void> {
    if (this.server.listening) await this.down();
  }

  private onRequest(req: IncomingMessage, res: ServerResponse): void {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      const webhookId = header(req.headers, 'webhook-id');
      const delivery: ReceivedCallback = { jobId: jobIdOf(body) ?? webhookId ?? '', webhookId, headers: req.headers, body, receivedAt: Date.now(), status: this.status };
      this.all.push(delivery);
      if (this.status >= 200 && this.status < 300) {
        const list = this.accepted.get(delivery.jobId) ?? [];
        list.push(delivery);
        this.accepted.set(delivery.jobId, list);
      }
      for (const listener of this.listeners) listener(delivery);
      res.writeHead(this.status, { 'content-type': 'application/json' }).end('{"ok":true}');
    });
  }
}

function listen(server: Server, port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve((server.address() as AddressInfo).port));
  });
}

function header(headers: IncomingHttpHeaders, name: string): string | undefined {
  const value = headers[name];
  return Array.isArray(value) ? value[0] : value;
}

function jobIdOf(body: string): string | undefined {
  try {
    const parsed: unknown = JSON.parse(body);
    const jobId = typeof parsed === 'object' && parsed !== null ? (parsed as { jobId?: unknown }).jobId : undefined;
    return typeof jobId === 'string' ? jobId : undefined;
  } catch {
    return undefined;
  }
}
