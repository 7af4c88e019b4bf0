import { Inject, Injectable, Logger } from '@nestjs/common';
import type { generation } from '@ragmesh/contracts';
import { splitSentences } from '@ragmesh/text';
import { Observable } from 'rxjs';
import { hasImageParts } from '../engines/content-parts';
import { ENGINE_ROUTER, EngineRoute, EngineRouter, LOCAL_UPSTREAM, ModelNotFoundError } from '../engines/engine-router';
import { UnsupportedRequestError, type PoolEvent } from '../engines/upstream-pool';
import { AdmissionAbortedError, AdmissionController, AdmissionRejectedError, Release } from './admission-control';
import { foldChunks, toChunk } from './chunk-mapping';
import { GenerationMetrics, type RequestOutcome } from './generation.metrics';
import type { GenerateCommand, SummarizeCommand } from './generation.schemas';

/** An engine failed. `afterFirstToken` matters: text already sent must never be sent again. */
export class UpstreamFailedError extends Error {
  override readonly name = 'UpstreamFailedError';
  constructor(
    readonly upstream: string,
    readonly upstreamStatus: number | undefined,
    readonly afterFirstToken: boolean,
    message: string,
  ) {
    super(message);
  }
}

/** The caller went away; nobody is listening for the result. */
export class RequestCancelledError extends Error {
  override readonly name = 'RequestCancelledError';
}

/** The HTTP status behind an engine error, whichever client produced it. */
export function upstreamStatusOf(err: unknown): number | undefined {
  if (typeof err !== 'object' || err === null) return undefined;
  const candidate = err as { status?: unknown; statusCode?: unknown; response?: { status?: unknown } };
  for (const value of [candidate.status, candidate.statusCode, candidate.response?.status]) {
    if (typeof value === 'number' && Number.isInteger(value) && value >= 100 && value < 600) return value;
  }
  return undefined;
}

const messageOf = (err: unknown): string => (err instanceof Error ? err.message : String(err));

/** Keeps the first `max` sentences: an upstream LLM may ignore the instruction. */
export function limitSentences(text: string, max: number): string {
  return splitSentences(text).slice(0, max).join(' ');
}

/**
 * Iterates until the signal aborts, even if the engine ignores the signal: a cancelled
 * request must give its admission slot back at once.
 */
export async function* untilAborted<T>(source: AsyncIterable<T>, signal: AbortSignal): AsyncGenerator<T> {
  const iterator = source[Symbol.asyncIterator]();
  let onAbort: (() => void) | undefined;
  const aborted = new Promise<never>((_, reject) => {
    onAbort = () => reject(new RequestCancelledError('generation cancelled by the caller'));
    if (signal.aborted) onAbort();
    else signal.addEventListener('abort', onAbort, { once: true });
  });
  aborted.catch(() => undefined);
  try {
    for (;;) {
      const result = await Promise.race([iterator.next(), aborted]);
      if (result.done) return;
      yield result.value;
    }
  } finally {
    if (onAbort) signal.removeEventListener('abort', onAbort);
    if (signal.aborted) void Promise.resolve(iterator.return?.()).catch(() => undefined);
  }
}

export const ADMISSION_CONTROLLER = Symbol('ADMISSION_CONTROLLER');

const noRelease: Release = () => undefined;

/** Failures that are an answer about the request (not an engine fault), with their outcome label. */
function classifyRefusal(err: unknown): RequestOutcome | undefined {
  if (err instanceof AdmissionRejectedError) return 'rejected';
  if (err instanceof UnsupportedRequestError) return 'unsupported';
  if (err instanceof ModelNotFoundError) return 'not_found';
  return undefined;
}

/** Per-stream token timing; the metric children are looked up once per stream, not per token. */
export interface TokenTimer {
  token(): void;
}

@Injectable()
export class GenerationUseCase {
  private readonly logger = new Logger(GenerationUseCase.name);

  constructor(
    @Inject(ENGINE_ROUTER) private readonly router: EngineRouter,
    @Inject(ADMISSION_CONTROLLER) private readonly admission: AdmissionController,
    private readonly metrics: GenerationMetrics,
  ) {}

  /** Cold: each subscription runs one generation; unsubscribing aborts the engine. */
  stream(command: GenerateCommand): Observable<generation.GenerateChunk> {
    return new Observable<generation.GenerateChunk>((subscriber) => {
      const abort = new AbortController();
      this.streamTo(command, abort.signal, (chunk) => subscriber.next(chunk)).then(
        () => subscriber.complete(),
        (err: unknown) => subscriber.error(err),
      );
      return () => abort.abort();
    });
  }

  /** One generation, each chunk handed to `emit` as it arrives; resolves after the final chunk. */
  streamTo(command: GenerateCommand, signal: AbortSignal, emit: (chunk: generation.GenerateChunk) => void): Promise<void> {
    return this.run(command, signal, emit);
  }

  async generate(command: GenerateCommand, signal: AbortSignal): Promise<generation.GenerateResponse> {
    const chunks: generation.GenerateChunk[] = [];
    await this.run(command, signal, (chunk) => chunks.push(chunk));
    return foldChunks(chunks);
  }

  async summarize(command: SummarizeCommand, signal: AbortSignal): Promise<generation.SummarizeResponse> {
    const route = this.router.forSummary(command.model);
    const release = await this.admit(route, signal);
    try {
      const summary = await route.engine.summarize({
        previousSummary: command.previousSummary,
        messages: command.messages,
        maxSentences: command.maxSentences,
        signal,
      });
      this.metrics.request(route.engine.name, 'ok');
      return { summary: limitSentences(summary, command.maxSentences), model: route.model ?? route.engine.name };
    } catch (err) {
      throw this.failure(route, err, signal, false);
    } finally {
      release();
    }
  }

  listModels(): Promise<generation.ListModelsResponse> {
    return this.router.listModels().then((models) => ({ models }));
  }

  private async run(
    command: GenerateCommand,
    signal: AbortSignal,
    emit: (chunk: generation.GenerateChunk) => void,
  ): Promise<void> {
    const startedAt = performance.now();
    const route = this.route(command);
    const release = await this.admit(route, signal);
    let upstream = route.upstream;
    let emittedText = false;
    try {
      let finished = false;
      let timer: TokenTimer | undefined;
      const events = route.engine.generate({
        model: route.model,
        messages: command.messages,
        context: command.context,
        maxTokens: command.maxTokens,
        temperature: command.temperature,
        persona: command.persona,
        signal,
      });
      // The pool aborts its upstream request on the signal itself; other engines get a watchdog.
      for await (const event of route.pooled ? events : untilAborted(events, signal)) {
        // The pool names the member with the first event of an attempt (a stream never changes
        // upstream after its first token); other engines are their route.
        upstream = (event as PoolEvent).upstream ?? upstream;
        if (event.type === 'delta') {
          if (event.text === '') continue;
          if (timer) timer.token();
          else timer = this.metrics.tokenTimer(upstream, startedAt);
          emittedText = true;
        } else {
          finished = true;
          this.metrics.usage(upstream, event.usage.promptTokens, event.usage.completionTokens);
        }
        emit(toChunk(event, upstream));
      }
      if (!finished) {
        throw new UpstreamFailedError(upstream, undefined, emittedText, 'the stream ended without a final event');
      }
      this.metrics.request(route.engine.name, 'ok');
      this.logger.debug(`generation ok: engine=${route.engine.name} upstream=${upstream} in ${Math.round(performance.now() - startedAt)} ms`);
    } catch (err) {
      const failure = this.failure({ ...route, upstream }, err, signal, emittedText);
      this.logger.warn(`generation ${failure.name}: engine=${route.engine.name} upstream=${upstream}: ${failure.message}`);
      throw failure;
    } finally {
      release();
    }
  }

  private route(command: GenerateCommand): EngineRoute {
    let route: EngineRoute;
    try {
      route = this.router.forGeneration(command.model, command.sessionId);
    } catch (err) {
      if (err instanceof ModelNotFoundError) this.metrics.request('none', 'not_found');
      throw err;
    }
    if (route.upstream === LOCAL_UPSTREAM && hasImageParts(command.messages)) {
      this.metrics.request(route.engine.name, 'unsupported');
      throw new UnsupportedRequestError(
        `the request has image content parts but model "${route.model ?? route.engine.name}" is the local extractive engine, which reads no images; ` +
          'send it to an upstream model labelled multimodal',
      );
    }
    return route;
  }

  /** The local engine shares the proxy's CPU: a global slot limit. The pool limits per upstream itself. */
  private async admit(route: EngineRoute, signal: AbortSignal): Promise<Release> {
    if (route.pooled) return noRelease;
    try {
      return await this.admission.acquire(signal);
    } catch (err) {
      if (err instanceof AdmissionRejectedError) this.metrics.request(route.engine.name, 'rejected');
      if (err instanceof AdmissionAbortedError) this.metrics.request(route.engine.name, 'cancelled');
      throw err;
    }
  }

  /** Classifies a failure once, counts it, and returns the error to throw. */
  private failure(route: EngineRoute, err: unknown, signal: AbortSignal, afterFirstToken: boolean): Error {
    if (signal.aborted || err instanceof RequestCancelledError) {
      this.metrics.request(route.engine.name, 'cancelled');
      return err instanceof RequestCancelledError ? err : new RequestCancelledError('generation cancelled by the caller');
    }
    const outcome = classifyRefusal(err);
    if (outcome) {
      this.metrics.request(route.engine.name, outcome);
      return err as Error;
    }
    if (err instanceof AdmissionAbortedError) {
      this.metrics.request(route.engine.name, 'cancelled');
      return err;
    }
    this.metrics.request(route.engine.name, 'error');
    if (err instanceof UpstreamFailedError) return err;
    const status = upstreamStatusOf(err);
    const where = route.upstream === LOCAL_UPSTREAM ? 'local engine' : `upstream "${route.upstream}"`;
    const http = status === undefined ? '' : ` (HTTP ${status})`;
    return new UpstreamFailedError(route.upstream, status, afterFirstToken, `${where} failed${http}: ${messageOf(err)}`);
  }
}
