import pino from 'pino';
import { getCorrelationId } from './correlation';

export const DEFAULT_LOG_LEVEL = 'info';

// Credentials must never reach the logs, whatever logs a request.
const REDACTED_PATHS = [
  'req.headers.authorization',
  'req.headers.cookie',
  'req.headers["x-api-key"]',
  // The mesh's service token, carried by a resume one gateway replica forwards to another.
  'req.headers["x-ragmesh-service-token"]',
  'res.headers["set-cookie"]',
];

export function correlationMixin(): { correlationId?: string } {
  const correlationId = getCorrelationId();
  return correlationId === undefined ? {} : { correlationId };
}

/** JSON lines with `service` on every line and `correlationId` whenever one is in scope. */
export function createLogger(
  service: string,
  level: string = DEFAULT_LOG_LEVEL,
  destination?: pino.DestinationStream,
): pino.Logger {
  const options: pino.LoggerOptions = {
    level,
    base: { service, pid: process.pid },
    mixin: correlationMixin,
    timestamp: pino.stdTimeFunctions.isoTime,
    redact: { paths: REDACTED_PATHS, censor: '[redacted]' },
    formatters: { level: (label) => ({ level: label }) },
  };
  return destination ? pino(options, destination) : pino(options);
}
