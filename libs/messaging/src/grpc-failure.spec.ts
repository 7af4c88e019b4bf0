import { GrpcStatus } from '@ragmesh/contracts';
import { classifyGrpcError, PermanentError } from './index';

const grpcError = (code: number, details: string): Error => Object.assign(new Error(`${code} ${details}`), { code, details });

describe('classifyGrpcError', () => {
  it('turns INVALID_ARGUMENT into a PermanentError naming the call, the code and the server text', () => {
    const err = classifyGrpcError(grpcError(GrpcStatus.INVALID_ARGUMENT, 'messages: required'), 'generation Generate');
    expect(err).toBeInstanceOf(PermanentError);
    expect(err.message).toBe('generation Generate failed with INVALID_ARGUMENT: messages: required');
  });

  it.each([GrpcStatus.UNAVAILABLE, GrpcStatus.DEADLINE_EXCEEDED, GrpcStatus.RESOURCE_EXHAUSTED, GrpcStatus.INTERNAL])(
    'keeps code %s retryable, with the original error as cause',
    (code) => {
      const original = grpcError(code, 'try later');
      const err = classifyGrpcError(original, 'generation Summarize');
      expect(err).not.toBeInstanceOf(PermanentError);
      expect(err.message).toBe(`generation Summarize failed with ${GrpcStatus[code]}: try later`);
      expect(err.cause).toBe(original);
    },
  );

  it('treats an error without a gRPC code as UNKNOWN and retryable', () => {
    const err = classifyGrpcError(new Error('socket hang up'), 'generation Generate');
    expect(err).not.toBeInstanceOf(PermanentError);
    expect(err.message).toBe('generation Generate failed with UNKNOWN: socket hang up');
  });
});
