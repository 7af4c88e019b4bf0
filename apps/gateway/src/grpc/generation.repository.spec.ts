import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { CORRELATION_METADATA_KEY, generation, PROTO_LOADER_OPTIONS, protoPath, SERVICE_TOKEN_METADATA_KEY, serviceToken } from '@ragmesh/contracts';
import { runWithCorrelationId } from '@ragmesh/observability';
import { lastValueFrom, of, toArray } from 'rxjs';
import { type ChunkListener, ChunkStream, type GenerateChunk, GrpcGenerationRepository, listenToChunks } from './generation.repository';

/**
 * The GenerateStream call the gateway drives on grpc-js's channel API, against a real grpc-js
 * server in this process: metadata, deadline, decoding, errors and cancellation.
 */
describe('GrpcGenerationRepository.generateStream', () => {
  let server: grpc.Server;
  let repository: GrpcGenerationRepository;
  const seen: { metadata?: grpc.Metadata; deadline?: grpc.Deadline; request?: generation.GenerateRequest; cancelled: number } = { cancelled: 0 };

  const chunk = (over: Partial<GenerateChunk>): GenerateChunk => ({ delta: '', finishReason: '', usage: undefined, model: '', upstream: 'local', ...over });

  beforeAll(async () => {
    const definition = protoLoader.loadSync(protoPath('generation'), PROTO_LOADER_OPTIONS);
    const service = (grpc.loadPackageDefinition(definition) as unknown as { ragmesh: { v1: { GenerationService: grpc.ServiceClientConstructor } } }).ragmesh.v1.GenerationService;
    server = new grpc.Server();
    server.addService(service.service, {
      GenerateStream: (call: grpc.ServerWritableStream<generation.GenerateRequest, GenerateChunk>) => {
        seen.metadata = call.metadata;
        seen.deadline = call.getDeadline();
        seen.request = call.request;
        const question = call.request.messages[0]?.content ?? '';
        if (question === 'FAIL') {
          const metadata = new grpc.Metadata();
          metadata.set('retry-after-ms', '1500');
          return call.emit('error', Object.assign(new Error('queue full'), { code: grpc.status.RESOURCE_EXHAUSTED, details: 'queue full', metadata }));
        }
        if (question === 'HOLD') {
          call.write(chunk({ delta: 'first' }));
          call.on('cancelled', () => seen.cancelled++);
          return;
        }
        call.write(chunk({ delta: 'Seoul ' }));
        call.write(chunk({ delta: '서울 🙂' }));
        call.write(chunk({ finishReason: 'stop', usage: { promptTokens: 5, completionTokens: 2, totalTokens: 7 }, model: 'm' }));
        call.end();
      },
    });
    const port = await new Promise<number>((resolve, reject) =>
      server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (err, p) => (err ? reject(err) : resolve(p))),
    );
    // Listing models stays on Nest's client; this spec drives only the stream.
    repository = new GrpcGenerationRepository({} as generation.GenerationServiceClient, { GENERATION_GRPC_URL: `127.0.0.1:${port}` });
  });

  afterAll(async () => {
    repository.onApplicationShutdown();
    await new Promise<void>((resolve) => server.tryShutdown(() => resolve()));
  });

  const request = (question: string): generation.GenerateRequest => ({
    model: 'm',
    messages: [{ role: 'user', content: question }],
    context: [],
    maxTokens: 0,
    temperature: 0,
    sessionId: 's',
    persona: '',
  });

  /** Collects what a plain listener hears until the call ends. */
  function listen(stream: ChunkStream): Promise<{ chunks: GenerateChunk[]; error?: unknown }> {
    return new Promise((resolve) => {
      const chunks: GenerateChunk[] = [];
      const listener: ChunkListener = { chunk: (c) => chunks.push(c), error: (error) => resolve({ chunks, error }), end: () => resolve({ chunks }) };
      stream.listen(listener);
    });
  }

  it('sends the service token, the correlation id and a deadline; delivers every chunk in order, then ends', async () => {
    const before = Date.now();
    const { chunks, error } = await runWithCorrelationId('corr-42', () => listen(repository.generateStream(request('hello'))));
    expect(error).toBeUndefined();
    expect(chunks.map((c) => c.delta)).toEqual(['Seoul ', '서울 🙂', '']);
    expect(chunks[2]).toMatchObject({ finishReason: 'stop', usage: { promptTokens: 5, completionTokens: 2, totalTokens: 7 }, model: 'm', upstream: 'local' });
    expect(seen.metadata?.get(SERVICE_TOKEN_METADATA_KEY)).toEqual([serviceToken()]);
    expect(seen.metadata?.get(CORRELATION_METADATA_KEY)).toEqual(['corr-42']);
    expect(seen.request?.messages[0].content).toBe('hello');
    const deadlineMs = new Date(seen.deadline as Date).getTime() - before;
    expect(deadlineMs).toBeGreaterThan(100_000);
    expect(deadlineMs).toBeLessThanOrEqual(121_000);
  });

  it('is an Observable too: subscribing streams the same chunks', async () => {
    const chunks = await lastValueFrom(repository.generateStream(request('hello')).pipe(toArray()));
    expect(chunks.map((c) => c.delta)).toEqual(['Seoul ', '서울 🙂', '']);
  });

  it('fails with the grpc-js error shape: code, details and the trailing metadata', async () => {
    const { chunks, error } = await listen(repository.generateStream(request('FAIL')));
    expect(chunks).toEqual([]);
    expect(error).toBeInstanceOf(Error);
    expect(error).toMatchObject({ code: grpc.status.RESOURCE_EXHAUSTED, details: 'queue full', message: '8 RESOURCE_EXHAUSTED: queue full' });
    expect((error as grpc.ServiceError).metadata.get('retry-after-ms')).toEqual(['1500']);
  });

  it('cancels the call upstream when the listener stops, and reports nothing after that', async () => {
    const before = seen.cancelled;
    const heard: string[] = [];
    let cancel: () => void = () => undefined;
    await new Promise<void>((resolve) => {
      cancel = repository.generateStream(request('HOLD')).listen({
        chunk: (c) => {
          heard.push(`chunk:${c.delta}`);
          resolve();
        },
        error: () => heard.push('error'),
        end: () => heard.push('end'),
      });
    });
    cancel();
    cancel();
    const deadline = Date.now() + 5000;
    while (seen.cancelled === before && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    expect(seen.cancelled).toBe(before + 1);
    await new Promise((r) => setTimeout(r, 50));
    expect(heard).toEqual(['chunk:first']);
  });

  it('unsubscribing cancels as well', async () => {
    const before = seen.cancelled;
    await new Promise<void>((resolve) => {
      const subscription = repository.generateStream(request('HOLD')).subscribe(() => {
        subscription.unsubscribe();
        resolve();
      });
    });
    const deadline = Date.now() + 5000;
    while (seen.cancelled === before && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    expect(seen.cancelled).toBe(before + 1);
  });
});

describe('listenToChunks', () => {
  it('subscribes to an Observable that is not a ChunkStream (test fakes), with the same listener contract', async () => {
    const heard: string[] = [];
    await new Promise<void>((resolve) => {
      listenToChunks(of({ delta: 'a' } as GenerateChunk, { delta: 'b' } as GenerateChunk), {
        chunk: (c) => heard.push(c.delta),
        error: () => heard.push('error'),
        end: () => {
          heard.push('end');
          resolve();
        },
      });
    });
    expect(heard).toEqual(['a', 'b', 'end']);
  });
});
