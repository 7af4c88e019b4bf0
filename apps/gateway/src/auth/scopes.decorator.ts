import { SetMetadata } from '@nestjs/common';
import type { Scope } from './api-key';

export const REQUIRED_SCOPE = 'ragmesh:required-scope';
export const PUBLIC_ROUTE = 'ragmesh:public-route';

/**
 * The scope a key needs for a controller or a handler (the handler's wins). The global guard
 * refuses routes that declare neither a scope nor `@Public()`, so a new route cannot go out open.
 */
export const RequireScope = (scope: Scope) => SetMetadata(REQUIRED_SCOPE, scope);

/** No key needed (the OpenAPI document). Health and metrics are Express routes outside Nest and never reach the guard. */
export const Public = () => SetMetadata(PUBLIC_ROUTE, true);
