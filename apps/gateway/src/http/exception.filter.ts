import { ArgumentsHost, Catch, ExceptionFilter, HttpException, HttpStatus, Logger } from '@nestjs/common';
import { CORRELATION_HEADER } from '@ragmesh/observability';
import type { Request, Response } from 'express';
import { ApiError } from './api-error';
import { failure } from './envelope';
import { grpcErrorMessage, grpcToHttpStatus, isGrpcError } from './grpc-errors';
import { redactAddresses } from './redact';

interface Rendered {
  status: number;
  message: string;
  data: unknown;
}

/** Paths whose callers are OpenAI SDKs: those read `error.message`, so it rides along the envelope. */
const OPENAI_COMPATIBLE_PATHS = ['/v1/chat/', '/v1/models'];

const OPENAI_ERROR_TYPES: Partial<Record<number, string>> = {
  400: 'invalid_request_error',
  404: 'not_found_error',
  401: 'authentication_error',
  403: 'permission_error',
  408: 'timeout_error',
  413: 'invalid_request_error',
  422: 'invalid_request_error',
  429: 'rate_limit_error',
};

export { redactAddresses };

function requestIdOf(req: Request): string {
  const id = req.headers[CORRELATION_HEADER];
  return typeof id === 'string' ? id : '';
}

function httpExceptionMessage(exception: HttpException): string {
  const response = exception.getResponse();
  if (typeof response === 'string') return response;
  const message = (response as { message?: unknown }).message;
  if (typeof message === 'string') return message;
  if (Array.isArray(message)) return message.join('; ');
  return exception.message;
}

/**
 * The one place errors become HTTP: the envelope for every failure, gRPC codes translated,
 * and nothing caused by input ever surfaces as a 500.
 */
@Catch()
export class GlobalExceptionFilter implements ExceptionFilter {
  private readonly logger = new Logger('GlobalExceptionFilter');

  catch(exception: unknown, host: ArgumentsHost): void {
    const ctx = host.switchToHttp();
    const res = ctx.getResponse<Response>();
    const req = ctx.getRequest<Request>();
    const rendered = this.render(exception, req);

    if (res.headersSent) {
      // A stream already started; the SSE writer reports its own errors. Just make sure it ends.
      if (!res.writableEnded) res.end();
      return;
    }
    // The request id lets a caller quote the one log line an operator needs; nothing else internal leaves.
    const body: Record<string, unknown> = { ...failure(rendered.message, rendered.data), request_id: requestIdOf(req) };
    if (rendered.status === HttpStatus.UNAUTHORIZED) res.setHeader('WWW-Authenticate', 'Bearer realm="ragmesh"');
    if (OPENAI_COMPATIBLE_PATHS.some((p) => req.path.startsWith(p))) {
      body.error = {
        message: rendered.message,
        type: OPENAI_ERROR_TYPES[rendered.status] ?? (rendered.status >= 500 ? 'server_error' : 'invalid_request_error'),
        code: rendered.status,
        ...(rendered.data !== null ? { details: rendered.data } : {}),
      };
    }
    res.status(rendered.status).json(body);
  }

  private render(exception: unknown, req: Request): Rendered {
    if (exception instanceof ApiError) {
      return { status: exception.getStatus(), message: exception.message, data: exception.data };
    }
    if (exception instanceof HttpException) {
      const status = exception.getStatus();
      const message = status === HttpStatus.NOT_FOUND ? `no route for ${req.method} ${req.path}` : httpExceptionMessage(exception);
      if (status >= 500) this.logger.error(exception);
      return { status, message, data: null };
    }
    if (isGrpcError(exception)) {
      const status = grpcToHttpStatus(exception.code);
      const message = grpcErrorMessage(exception);
      if (status >= 500) this.logger.warn(`upstream gRPC error ${exception.code}: ${message}`);
      return { status, message: redactAddresses(message), data: null };
    }
    this.logger.error(exception instanceof Error ? (exception.stack ?? exception.message) : String(exception));
    return { status: HttpStatus.INTERNAL_SERVER_ERROR, message: 'internal error', data: null };
  }
}
