import { CanActivate, ExecutionContext, HttpStatus, Inject, Injectable, Logger } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { MetricsService } from '@ragmesh/observability';
import { countTokens } from '@ragmesh/text';
import type { Request, Response } from 'express';
import type { Counter } from 'prom-client';
import { APP_CONFIG, type AppConfig } from '../config';
import { ApiError } from '../http/api-error';
import { isReplicaHop } from '../http/replica-hop';
import { isStreamRequest } from '../http/request-timeout';
import { API_KEY_PATTERN, keyPrefix, type Scope } from './api-key';
import { ApiKeyLookup } from './api-key-lookup';
import type { ApiKeyRecord } from './api-keys.repository';
import type { AuthenticatedRequest, Principal } from './principal';
import { type Charge, type LimitState, RateLimits } from './rate-limits';
import { PUBLIC_ROUTE, REQUIRED_SCOPE } from './scopes.decorator';

type GuardConfig = Pick<AppConfig, 'CHAT_MAX_MESSAGES' | 'CHAT_MAX_PROMPT_TOKENS' | 'DOCUMENTS_MAX_PER_BATCH'>;

export const REFUSED_METRIC = 'ragmesh_gateway_requests_refused_total';

/** A refusal by the guard; `code` labels ragmesh_gateway_requests_refused_total. */
class Refused extends ApiError {
  constructor(
    status: HttpStatus,
    readonly code: string,
    message: string,
    data: unknown = null,
  ) {
    super(status, message, data);
  }
}

const unauthorized = (code: string, message: string) => new Refused(HttpStatus.UNAUTHORIZED, code, message);
const unprocessable = (field: string, reason: string) =>
  new Refused(HttpStatus.UNPROCESSABLE_ENTITY, 'over_request_limit', 'request exceeds a limit', { errors: [{ field, reason }] });

/** `Authorization: Bearer <key>` (OpenAI clients send this) or `X-API-Key: <key>`. */
export function presentedKey(req: Request): string | undefined {
  const auth = req.headers.authorization;
  if (typeof auth === 'string') {
    const match = /^Bearer\s+(\S+)\s*$/i.exec(auth);
    return match ? match[1] : auth;
  }
  const header = req.headers['x-api-key'];
  return typeof header === 'string' ? header : undefined;
}

function setLimitHeaders(res: Response, state: LimitState): void {
  res.setHeader('X-RateLimit-Limit', String(state.max));
  res.setHeader('X-RateLimit-Remaining', String(state.remaining));
  res.setHeader('X-RateLimit-Reset', String(state.resetSeconds));
}

function tooMany(res: Response, state: LimitState): ApiError {
  setLimitHeaders(res, state);
  res.setHeader('Retry-After', String(state.resetSeconds));
  return new Refused(HttpStatus.TOO_MANY_REQUESTS, `rate_limited_${state.limit}`, `rate limit exceeded: ${state.limit} (at most ${state.max}); retry after ${state.resetSeconds}s`, {
    limit: state.limit,
    max: state.max,
    retry_after_seconds: state.resetSeconds,
  });
}

type ChatMessageLike = { content?: unknown };

function messageText(message: unknown): string {
  const content = (message as ChatMessageLike | null)?.content;
  if (typeof content === 'string') return content;
  if (!Array.isArray(content)) return '';
  return content.map((part) => ((part as { text?: unknown } | null)?.text ?? '')).filter((t): t is string => typeof t === 'string').join('\n');
}

/**
 * The one door of the `/v1` API, run before every Nest handler: the route must declare a scope
 * (or be @Public), the caller must present a live key holding it, and the key's request, token
 * and stream budgets must allow the call. What it refuses is a 401/403/422/429 with the reason.
 */
@Injectable()
export class ApiKeyGuard implements CanActivate {
  private readonly logger = new Logger('auth');
  private readonly refused: Counter<'reason'>;

  constructor(
    private readonly reflector: Reflector,
    private readonly lookup: ApiKeyLookup,
    private readonly limits: RateLimits,
    @Inject(APP_CONFIG) private readonly config: GuardConfig,
    metrics: MetricsService,
  ) {
    this.refused = metrics.counter(REFUSED_METRIC, 'Requests the API-key guard refused, by reason', ['reason']) as Counter<'reason'>;
  }

  async canActivate(context: ExecutionContext): Promise<boolean> {
    if (context.getType() !== 'http') return true;
    try {
      return await this.check(context);
    } catch (err) {
      if (err instanceof Refused) this.refused.inc({ reason: err.code });
      throw err;
    }
  }

  private async check(context: ExecutionContext): Promise<boolean> {
    const targets = [context.getHandler(), context.getClass()];
    if (this.reflector.getAllAndOverride<boolean>(PUBLIC_ROUTE, targets)) return true;
    const req = context.switchToHttp().getRequest<AuthenticatedRequest>();
    const res = context.switchToHttp().getResponse<Response>();
    const scope = this.reflector.getAllAndOverride<Scope | undefined>(REQUIRED_SCOPE, targets);
    if (!scope) {
      this.logger.error(`${req.method} ${req.path} declares no scope; refused`);
      throw new Refused(HttpStatus.FORBIDDEN, 'undeclared_route', 'this route declares no scope and is refused by default');
    }
    const record = await this.authenticate(req);
    if (!record.scopes.includes(scope)) {
      this.logger.warn({ key: record.prefix, scope }, 'key lacks the scope');
      throw new Refused(HttpStatus.FORBIDDEN, 'missing_scope', `API key ${record.prefix}… lacks the '${scope}' scope`);
    }
    req.principal = { keyId: record.id, name: record.name, prefix: record.prefix, tenant: record.tenant, scopes: record.scopes } satisfies Principal;
    this.lookup.touch(record.id);

    // A resume another replica forwarded (proven by the service token) was counted there, and its stream slot is held there.
    if (isReplicaHop(req)) return true;
    // What a 422 would refuse is known before counting anything; the request budget still counts such a request.
    const { charges, oversized } = this.admission(req, scope);
    const { states, refused } = await this.limits.consumeAll(record.id, [{ limit: 'requests' }, ...charges]);
    setLimitHeaders(res, states[0]);
    // The same precedence as counting one limit after another: requests (429), size (422), tokens, streams (429).
    if (refused?.limit === 'requests') throw tooMany(res, refused);
    if (oversized) throw oversized;
    if (refused) throw tooMany(res, refused);
    if (charges.some((c) => c.limit === 'streams')) {
      const release = () => {
        this.limits.release('streams', record.id).catch((err: unknown) => this.logger.warn(`stream slot not released: ${String(err)}`));
      };
      // A client that hung up while the limits were counted has closed already: 'close' will not come again.
      if (res.closed || res.destroyed) release();
      else res.once('close', release);
    }
    return true;
  }

  private async authenticate(req: Request): Promise<ApiKeyRecord> {
    const key = presentedKey(req);
    if (!key) throw unauthorized('missing_key', 'missing API key: send Authorization: Bearer <key>');
    if (!API_KEY_PATTERN.test(key)) throw unauthorized('malformed_key', 'malformed API key');
    const record = await this.lookup.find(key);
    const prefix = keyPrefix(key);
    if (!record) {
      this.logger.warn({ key: prefix }, 'unknown API key');
      throw unauthorized('unknown_key', 'unknown API key');
    }
    if (record.revokedAt) {
      this.logger.warn({ key: prefix }, 'revoked API key used');
      throw unauthorized('revoked_key', `API key ${prefix}… was revoked`);
    }
    if (record.expiresAt && record.expiresAt.getTime() <= Date.now()) {
      this.logger.warn({ key: prefix }, 'expired API key used');
      throw unauthorized('expired_key', `API key ${prefix}… expired at ${record.expiresAt.toISOString()}`);
    }
    return record;
  }

  /**
   * The batch size, then for a chat the message count and prompt size (422: retrying cannot help);
   * else what a chat costs the key's token and stream budgets (the request itself is always counted).
   */
  private admission(req: Request, scope: Scope): { charges: Charge[]; oversized?: Refused } {
    const refuse = (field: string, reason: string) => ({ charges: [], oversized: unprocessable(field, reason) });
    const documents = (req.body as { documents?: unknown } | undefined)?.documents;
    if (Array.isArray(documents) && documents.length > this.config.DOCUMENTS_MAX_PER_BATCH) {
      return refuse('documents', `at most ${this.config.DOCUMENTS_MAX_PER_BATCH} documents per request (got ${documents.length})`);
    }
    const messages = (req.body as { messages?: unknown } | undefined)?.messages;
    if (scope !== 'chat' || !Array.isArray(messages)) return { charges: [] };
    if (messages.length > this.config.CHAT_MAX_MESSAGES) {
      return refuse('messages', `at most ${this.config.CHAT_MAX_MESSAGES} messages per request (got ${messages.length})`);
    }
    const promptTokens = countTokens(messages.map(messageText).join('\n'));
    if (promptTokens > this.config.CHAT_MAX_PROMPT_TOKENS) {
      return refuse('messages', `the prompt is ${promptTokens} tokens; at most ${this.config.CHAT_MAX_PROMPT_TOKENS} are accepted`);
    }
    const tokens: Charge = { limit: 'tokens', points: Math.max(1, promptTokens) };
    return { charges: isStreamRequest(req) ? [tokens, { limit: 'streams' }] : [tokens] };
  }
}
