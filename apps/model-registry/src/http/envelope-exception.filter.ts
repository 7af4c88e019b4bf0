import { ArgumentsHost, Catch, ExceptionFilter, HttpException, HttpStatus, Logger } from '@nestjs/common';
import type { Response } from 'express';
import { ConflictError, NotFoundError } from '../training/errors';
import { RayJobsError } from '../training/ray-jobs.client';
import { UnknownUpstreamError } from '../upstreams/upstreams.use-cases';

/** Domain errors the use-cases throw, as HTTP statuses. */
function statusOfDomainError(exception: unknown): number | undefined {
  if (exception instanceof NotFoundError || exception instanceof UnknownUpstreamError) return HttpStatus.NOT_FOUND;
  if (exception instanceof ConflictError) return HttpStatus.CONFLICT;
  if (exception instanceof RayJobsError) return HttpStatus.BAD_GATEWAY;
  return undefined;
}

function isEnvelope(value: unknown): boolean {
  return typeof value === 'object' && value !== null && 'status' in value && 'message' in value && 'data' in value;
}

/** Every HTTP error leaves in the {status, message, data} envelope, never as Nest's default shape. */
@Catch()
export class EnvelopeExceptionFilter implements ExceptionFilter {
  private readonly logger = new Logger(EnvelopeExceptionFilter.name);

  catch(exception: unknown, host: ArgumentsHost): void {
    const res = host.switchToHttp().getResponse<Response>();
    if (exception instanceof HttpException) {
      const body = exception.getResponse();
      const message = typeof body === 'string' ? body : exception.message;
      res.status(exception.getStatus()).json(isEnvelope(body) ? body : { status: 'error', message, data: null });
      return;
    }
    const domainStatus = statusOfDomainError(exception);
    if (domainStatus !== undefined) {
      res.status(domainStatus).json({ status: 'error', message: (exception as Error).message, data: null });
      return;
    }
    this.logger.error(exception instanceof Error ? (exception.stack ?? exception.message) : String(exception));
    res.status(HttpStatus.INTERNAL_SERVER_ERROR).json({ status: 'error', message: 'internal error', data: null });
  }
}
