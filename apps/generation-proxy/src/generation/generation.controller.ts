import type { Metadata, ServerUnaryCall, ServerWritableStream } from '@grpc/grpc-js';
import { Controller } from '@nestjs/common';
import { generation } from '@ragmesh/contracts';
import { Observable } from 'rxjs';
import { type GenerateCommand, toSummarizeCommand, toGenerateCommand } from './generation.schemas';
import { GenerationUseCase } from './generation.use-case';
import { toRpcException } from './grpc-errors';

/**
 * A unary call's cancellation (client gone, deadline passed) as an AbortSignal, until `done`.
 * grpc-js also emits 'cancelled' once a call has ended normally; aborting then would only build
 * an AbortError nobody listens to, so the listener goes when the call is answered.
 */
function cancellationOf(call: ServerUnaryCall<unknown, unknown> | undefined): { signal: AbortSignal; done(): void } {
  const abort = new AbortController();
  const onCancel = (): void => abort.abort();
  call?.once('cancelled', onCancel);
  return { signal: abort.signal, done: () => call?.removeListener('cancelled', onCancel) };
}

@Controller()
@generation.GenerationServiceControllerMethods()
export class GenerationController implements generation.GenerationServiceController {
  constructor(private readonly useCase: GenerationUseCase) {}

  async generate(
    request: generation.GenerateRequest,
    _metadata?: Metadata,
    call?: ServerUnaryCall<generation.GenerateRequest, generation.GenerateResponse>,
  ): Promise<generation.GenerateResponse> {
    const cancellation = cancellationOf(call);
    try {
      return await this.useCase.generate(toGenerateCommand(request), cancellation.signal);
    } catch (err) {
      throw toRpcException(err);
    } finally {
      cancellation.done();
    }
  }

  /**
   * Cancellation arrives as an unsubscribe (Nest listens for the call's 'cancelled' event). The
   * chunks are written to the call directly: Nest's observable bridge (interceptors, operators,
   * its own backpressure queue) costs several hops per token, and the call is a Writable that
   * queues and orders writes itself; the observable carries only the end or the error (whose
   * status grpc-js sends after the queued chunks).
   */
  generateStream(
    request: generation.GenerateRequest,
    _metadata?: Metadata,
    call?: ServerWritableStream<generation.GenerateRequest, generation.GenerateChunk>,
  ): Observable<generation.GenerateChunk> {
    return new Observable<generation.GenerateChunk>((subscriber) => {
      const abort = new AbortController();
      const write = call ? (chunk: generation.GenerateChunk) => void call.write(chunk) : (chunk: generation.GenerateChunk) => subscriber.next(chunk);
      let command: GenerateCommand;
      try {
        command = toGenerateCommand(request);
      } catch (err) {
        subscriber.error(toRpcException(err));
        return undefined;
      }
      let ended = false;
      this.useCase.streamTo(command, abort.signal, write).then(
        () => {
          ended = true;
          subscriber.complete();
        },
        (err: unknown) => {
          ended = true;
          subscriber.error(toRpcException(err));
        },
      );
      // Nest unsubscribes after the end too: only a call still generating has anything to cancel.
      return () => {
        if (!ended) abort.abort();
      };
    });
  }

  async summarize(
    request: generation.SummarizeRequest,
    _metadata?: Metadata,
    call?: ServerUnaryCall<generation.SummarizeRequest, generation.SummarizeResponse>,
  ): Promise<generation.SummarizeResponse> {
    const cancellation = cancellationOf(call);
    try {
      return await this.useCase.summarize(toSummarizeCommand(request), cancellation.signal);
    } catch (err) {
      throw toRpcException(err);
    } finally {
      cancellation.done();
    }
  }

  listModels(): Promise<generation.ListModelsResponse> {
    return this.useCase.listModels();
  }
}
