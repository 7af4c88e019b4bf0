import { createParamDecorator, type ExecutionContext } from '@nestjs/common';
import type { Request } from 'express';
import type { Scope } from './api-key';

/** Who is calling: the API key the guard accepted. */
export interface Principal {
  keyId: string;
  name: string;
  prefix: string;
  tenant: string;
  scopes: Scope[];
}

export type AuthenticatedRequest = Request & { principal?: Principal };

export function principalOf(req: Request): Principal {
  const principal = (req as AuthenticatedRequest).principal;
  // The global guard runs before every handler that asks for one; missing means a public route asked.
  if (!principal) throw new Error('no principal on this request: the route is public');
  return principal;
}

/** The caller's tenant, for object-level checks: `@Tenant() tenant: string`. */
export const Tenant = createParamDecorator((_: unknown, ctx: ExecutionContext): string => principalOf(ctx.switchToHttp().getRequest<Request>()).tenant);

/** The whole principal: `@CurrentPrincipal() principal: Principal`. */
export const CurrentPrincipal = createParamDecorator((_: unknown, ctx: ExecutionContext): Principal => principalOf(ctx.switchToHttp().getRequest<Request>()));
