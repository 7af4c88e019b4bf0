import { Channel, credentials, type InterceptingListener, Metadata, status as GrpcStatus, type StatusObject } from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { Inject, Injectable, OnApplicationShutdown } from '@nestjs/common';
import {
  generation,
  GENERATION_SERVICE_CLIENT,
  GrpcDeadlines,
  PROTO_LOADER_OPTIONS,
  PROTO_PACKAGE,
  protoPath,
  SERVICE_TOKEN_METADATA_KEY,
  serviceToken,
  unary,
} from '@ragmesh/contracts';
import { outgoingMetadata } from '@ragmesh/observability';
import { Observable } from 'rxjs';
import { APP_CONFIG, type AppConfig } from '../config';

/** Listing models is a cheap metadata call; it should answer as fast as a search. */
const LIST_MODELS_DEADLINE_MS = GrpcDeadlines.search;
const SERVICE = `${PROTO_PACKAGE}.${generation.GENERATION_SERVICE_NAME}`;
const GENERATE_STREAM_PATH = `/${SERVICE}/GenerateStream`;
const CANCELLED_BY_CLIENT = 'Cancelled on client';

export type GenerateRequest = generation.GenerateRequest;
export type GenerateChunk = generation.GenerateChunk;
export type ModelInfo = generation.ModelInfo;

/** What a chunk stream reports to: `chunk` per message, then exactly one of `error` / `end`. */
export interface ChunkListener {
  chunk(chunk: GenerateChunk): void;
  error(err: unknown): void;
  end(): void;
}

/**
 * The chunks of one GenerateStream call. Subscribing starts the call like any Observable;
 * `listen` starts it with a plain listener instead, so the per-token path has no subscriber
 * chain in it. Either way, unsubscribing / the returned function cancels the call upstream.
 */
export class ChunkStream extends Observable<GenerateChunk> {
  constructor(private readonly open: (listener: ChunkListener) => () => void) {
    super((subscriber) => open({ chunk: (c) => subscriber.next(c), error: (err) => subscriber.error(err), end: () => subscriber.complete() }));
  }

  /** Starts the call; returns its cancel function (idempotent, a no-op once the call ended). */
  listen(listener: ChunkListener): () => void {
    return this.open(listener);
  }
}

/** A ChunkStream is listened to directly; any other Observable of chunks (test fakes) through a subscription. */
export function listenToChunks(stream: Observable<GenerateChunk>, listener: ChunkListener): () => void {
  if (stream instanceof ChunkStream) return stream.listen(listener);
  const subscription = stream.subscribe({ next: (c) => listener.chunk(c), error: (err: unknown) => listener.error(err), complete: () => listener.end() });
  return () => subscription.unsubscribe();
}

/** The generation proxy as the use-cases see it. Unsubscribing from `generateStream` cancels the call upstream. */
export abstract class GenerationRepository {
  abstract generateStream(request: GenerateRequest): Observable<GenerateChunk>;
  abstract listModels(): Promise<ModelInfo[]>;
}

type RawCall = ReturnType<Channel['createCall']>;
type Serialize = (request: GenerateRequest) => Buffer;
type Deserialize = (bytes: Buffer) => GenerateChunk;

/** grpc-js's error for a failed call: `code`, `details` and `metadata`, with the message grpc-js gives it. */
function callError(status: StatusObject): Error {
  return Object.assign(new Error(`${status.code} ${GrpcStatus[status.code]}: ${status.details}`), status);
}

/**
 * GenerateStream runs on a grpc-js channel of its own, driven through the channel's call API:
 * per token that skips the client's interceptor chain, its object-mode Readable and Nest's
 * Observable wrapper (measured: they cost more CPU than decoding the chunk; proto-loader's decoder
 * itself was ≈ 0.2 % of the gateway's profile, so it stays). It still carries the service token and the correlation id
 * in metadata, the generate deadline, and unsubscribing cancels it. Listing models is a rare
 * unary call: it stays on Nest's client.
 */
@Injectable()
export class GrpcGenerationRepository extends GenerationRepository implements OnApplicationShutdown {
  private readonly channel: Channel;
  private readonly serialize: Serialize;
  private readonly deserialize: Deserialize;
  private readonly token = serviceToken();

  constructor(
    @Inject(GENERATION_SERVICE_CLIENT) private readonly client: generation.GenerationServiceClient,
    @Inject(APP_CONFIG) config: Pick<AppConfig, 'GENERATION_GRPC_URL'>,
  ) {
    super();
    const definition = protoLoader.loadSync(protoPath('generation'), PROTO_LOADER_OPTIONS);
    const method = (definition[SERVICE] as protoLoader.ServiceDefinition).GenerateStream;
    this.serialize = method.requestSerialize as Serialize;
    this.deserialize = method.responseDeserialize as Deserialize;
    this.channel = new Channel(config.GENERATION_GRPC_URL, credentials.createInsecure(), {});
  }

  generateStream(request: GenerateRequest): ChunkStream {
    return new ChunkStream((listener) => this.start(request, listener));
  }

  async listModels(): Promise<ModelInfo[]> {
    const response = await unary(this.client.listModels.bind(this.client), {}, outgoingMetadata(), LIST_MODELS_DEADLINE_MS);
    return response.models ?? [];
  }

  onApplicationShutdown(): void {
    this.channel.close();
  }

  private start(request: GenerateRequest, listener: ChunkListener): () => void {
    const metadata: Metadata = outgoingMetadata();
    // Servers refuse calls without the mesh's token (UNAUTHENTICATED); GrpcClientsModule's interceptor adds it on Nest's clients.
    metadata.set(SERVICE_TOKEN_METADATA_KEY, this.token);
    // Serialized first: should it throw, no call has been opened to sit until its deadline.
    const message = this.serialize(request);
    const call: RawCall = this.channel.createCall(GENERATE_STREAM_PATH, Date.now() + GrpcDeadlines.generate, undefined, null, undefined);
    let ended = false;
    const events: InterceptingListener = {
      onReceiveMetadata: () => undefined,
      onReceiveMessage: (bytes: Buffer) => {
        if (ended) return;
        let chunk: GenerateChunk;
        try {
          chunk = this.deserialize(bytes);
        } catch (err) {
          ended = true;
          call.cancelWithStatus(GrpcStatus.INTERNAL, 'Response message parsing error');
          return listener.error(callError({ code: GrpcStatus.INTERNAL, details: `Response message parsing error: ${String(err)}`, metadata: new Metadata() }));
        }
        // One message at a time, as grpc-js's own stream reads: the next read is asked for once this one is handled.
        call.startRead();
        listener.chunk(chunk);
      },
      onReceiveStatus: (status: StatusObject) => {
        if (ended) return;
        ended = true;
        if (status.code === GrpcStatus.OK) listener.end();
        else listener.error(callError(status));
      },
    };
    call.start(metadata, events);
    call.sendMessageWithContext({}, message);
    call.halfClose();
    call.startRead();
    return () => {
      if (ended) return;
      ended = true;
      call.cancelWithStatus(GrpcStatus.CANCELLED, CANCELLED_BY_CLIENT);
    };
  }
}
