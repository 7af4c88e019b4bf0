import 'reflect-metadata';
import { Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import {
  generation,
  GENERATION_SERVICE_CLIENT,
  grpcErrorDetails,
  GrpcClientsModule,
  GrpcStatus,
  grpcStatusOf,
  RETRIEVAL_SERVICE_CLIENT,
} from './index';

// Nothing listens on this port: grpc-js connects lazily, so building the clients needs no server.
const NOWHERE = '127.0.0.1:9';

describe('GrpcClientsModule.forRoot', () => {
  it('provides a typed client for each service given a URL, and none for the others', async () => {
    @Module({ imports: [GrpcClientsModule.forRoot({ generation: NOWHERE })] })
    class TestModule {}
    const app = await NestFactory.createApplicationContext(TestModule, { logger: false });
    try {
      const client = app.get<generation.GenerationServiceClient>(GENERATION_SERVICE_CLIENT);
      expect(typeof client.generate).toBe('function');
      expect(typeof client.summarize).toBe('function');
      expect(() => app.get(RETRIEVAL_SERVICE_CLIENT)).toThrow();
    } finally {
      await app.close();
    }
  });
});

describe('grpcStatusOf / grpcErrorDetails', () => {
  it('reads a valid numeric code and the server details', () => {
    const err = Object.assign(new Error('3 INVALID_ARGUMENT: bad'), { code: GrpcStatus.INVALID_ARGUMENT, details: 'bad' });
    expect(grpcStatusOf(err)).toBe(GrpcStatus.INVALID_ARGUMENT);
    expect(grpcErrorDetails(err)).toBe('bad');
  });

  it('ignores codes that are not gRPC statuses and falls back to the message', () => {
    expect(grpcStatusOf(Object.assign(new Error('x'), { code: 'ECONNREFUSED' }))).toBeUndefined();
    expect(grpcStatusOf(Object.assign(new Error('x'), { code: 99 }))).toBeUndefined();
    expect(grpcStatusOf('boom')).toBeUndefined();
    expect(grpcErrorDetails(new Error('socket hang up'))).toBe('socket hang up');
    expect(grpcErrorDetails('plain')).toBe('plain');
  });
});
