import type { Metadata, ServerUnaryCall, ServerWritableStream } from '@grpc/grpc-js';
import { Controller } from '@nestjs/common';
import { generation } from '@ragmesh/contracts';
import { catchError, defer, Observable, throwError } from 'rxjs';
import { toSummarizeCommand, toGenerateCommand } from './generation.schemas';
import { GenerationUseCase } from './generation.use-case';
import { toRpcException } from './grpc-errors';

/** A unary call's cancellation (client gone, deadline passed) as an AbortSignal. */
function signalOf(call: ServerUnaryCall<unknown, unknown> | undefined): AbortSignal {
  const abort = new AbortController();
  call?.once('cancelled', () => abort.abort());
  return abort.signal;
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
    try {
      return await this.useCase.generate(toGenerateCommand(request), signalOf(call));
    } catch (err) {
      throw toRpcException(err);
    }
  }

  // Cancellation arrives as an unsubscribe (Nest listens for the call's 'cancelled' event).
  generateStream(
    request: generation.GenerateRequest,
    _metadata?: Metadata,
    _call?: ServerWritableStream<generation.GenerateRequest, generation.GenerateChunk>,
  ): Observable<generation.GenerateChunk> {
    return defer(() => this.useCase.stream(toGenerateCommand(request))).pipe(
      catchError((err: unknown) => throwError(() => toRpcException(err))),
    );
  }

  async summarize(
    request: generation.SummarizeRequest,
    _metadata?: Metadata,
    call?: ServerUnaryCall<generation.SummarizeRequest, generation.SummarizeResponse>,
  ): Promise<generation.SummarizeResponse> {
    try {
      return await this.useCase.summarize(toSummarizeCommand(request), signalOf(call));
    } catch (err) {
      throw toRpcException(err);
    }
  }

  listModels(): Promise<generation.ListModelsResponse> {
    return this.useCase.listModels();
  }
}
