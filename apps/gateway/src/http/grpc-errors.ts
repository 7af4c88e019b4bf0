import { HttpStatus } from '@nestjs/common';
import { GrpcStatus } from '@ragmesh/contracts';

export interface GrpcErrorLike {
  code: number;
  details?: string;
  message?: string;
}

export function isGrpcError(error: unknown): error is GrpcErrorLike {
  if (typeof error !== 'object' || error === null) return false;
  const code = (error as { code?: unknown }).code;
  // grpc-js errors carry a numeric status code and the server's text in `details`.
  return typeof code === 'number' && code >= 0 && code <= 16 && ('details' in error || 'metadata' in error);
}

const GRPC_TO_HTTP: Partial<Record<number, HttpStatus>> = {
  [GrpcStatus.INVALID_ARGUMENT]: HttpStatus.BAD_REQUEST,
  [GrpcStatus.OUT_OF_RANGE]: HttpStatus.BAD_REQUEST,
  [GrpcStatus.FAILED_PRECONDITION]: HttpStatus.BAD_REQUEST,
  [GrpcStatus.NOT_FOUND]: HttpStatus.NOT_FOUND,
  [GrpcStatus.ALREADY_EXISTS]: HttpStatus.CONFLICT,
  [GrpcStatus.RESOURCE_EXHAUSTED]: HttpStatus.TOO_MANY_REQUESTS,
  [GrpcStatus.UNAVAILABLE]: HttpStatus.SERVICE_UNAVAILABLE,
  [GrpcStatus.DEADLINE_EXCEEDED]: HttpStatus.SERVICE_UNAVAILABLE,
  [GrpcStatus.CANCELLED]: HttpStatus.SERVICE_UNAVAILABLE,
  [GrpcStatus.UNAUTHENTICATED]: HttpStatus.UNAUTHORIZED,
  [GrpcStatus.PERMISSION_DENIED]: HttpStatus.FORBIDDEN,
  [GrpcStatus.UNIMPLEMENTED]: HttpStatus.NOT_IMPLEMENTED,
};

export function grpcToHttpStatus(code: number): HttpStatus {
  return GRPC_TO_HTTP[code] ?? HttpStatus.BAD_GATEWAY;
}

export function grpcErrorMessage(error: GrpcErrorLike): string {
  return error.details || error.message || `upstream error (grpc code ${error.code})`;
}
