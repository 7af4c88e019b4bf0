import { GrpcStatus } from '@ragmesh/contracts';
import { ApiError } from '../http/api-error';
import { describeFailure, errorEvent } from './chat-errors';

const grpcFailure = (code: number, details: string) => Object.assign(new Error(details), { code, details, metadata: {} });

describe('stream and callback error texts', () => {
  it('redact the addresses grpc-js puts in its own failures', () => {
    const err = grpcFailure(GrpcStatus.UNAVAILABLE, 'No connection established. Last error: connect ECONNREFUSED 10.1.2.3:50051 (generation-proxy.ragmesh.svc:50052)');
    expect(errorEvent(err)).toEqual({
      code: 'upstream_unavailable',
      message: 'No connection established. Last error: connect ECONNREFUSED <address> (<address>)',
      status: 503,
    });
  });

  it('redact addresses in an ApiError and keep plain reasons as they are', () => {
    expect(describeFailure(new ApiError(502, 'upstream localhost:8000 answered garbage')).message).toBe('upstream <address> answered garbage');
    expect(describeFailure(grpcFailure(GrpcStatus.RESOURCE_EXHAUSTED, 'queue full for model local-extractive'))).toEqual({
      message: 'queue full for model local-extractive',
      status: 429,
    });
  });
});
