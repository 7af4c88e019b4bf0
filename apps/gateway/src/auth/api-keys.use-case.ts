import { HttpStatus, Injectable, Logger } from '@nestjs/common';
import { ApiError, NotFound } from '../http/api-error';
import type { Scope } from './api-key';
import { ApiKeyLookup } from './api-key-lookup';
import { ApiKeysRepository, type ApiKeyRecord } from './api-keys.repository';

export interface CreateKeyCommand {
  name: string;
  scopes: Scope[];
  tenant: string;
  expiresAt?: Date;
}

/**
 * Key management for a tenant's admin: an admin key creates, lists and revokes keys of its own
 * tenant; keys for another tenant are made with the CLI (`npm run keys`), which needs database access.
 */
@Injectable()
export class ApiKeysUseCase {
  private readonly logger = new Logger('auth');

  constructor(
    private readonly keys: ApiKeysRepository,
    private readonly lookup: ApiKeyLookup,
  ) {}

  async create(command: CreateKeyCommand, callerTenant: string): Promise<{ key: string; record: ApiKeyRecord }> {
    if (command.tenant !== callerTenant) {
      throw new ApiError(HttpStatus.FORBIDDEN, `an admin key of tenant '${callerTenant}' cannot create keys for tenant '${command.tenant}'; use npm run keys`);
    }
    const created = await this.keys.create(command);
    this.logger.log({ key: created.record.prefix, tenant: command.tenant, scopes: command.scopes }, 'API key created');
    return created;
  }

  list(tenant: string): Promise<ApiKeyRecord[]> {
    return this.keys.list(tenant);
  }

  async revoke(id: string, callerTenant: string): Promise<ApiKeyRecord> {
    const existing = await this.keys.findById(id);
    // Another tenant's key is reported as missing: its existence is not the caller's to know.
    if (!existing || existing.tenant !== callerTenant) throw new NotFound(`API key ${id} not found`);
    const revoked = await this.keys.revoke(id);
    // This replica refuses the key from the next request on; others within AUTH_CACHE_TTL_MS.
    this.lookup.forget(id);
    if (!revoked) throw new NotFound(`API key ${id} not found`);
    this.logger.log({ key: revoked.prefix, tenant: revoked.tenant }, 'API key revoked');
    return revoked;
  }
}
