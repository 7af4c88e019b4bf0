import { Body, Controller, Delete, Get, HttpCode, HttpStatus, Param, Post } from '@nestjs/common';
import { ok, type Envelope } from '../http/envelope';
import { ZodValidationPipe } from '../http/zod-validation.pipe';
import type { ApiKeyRecord } from './api-keys.repository';
import { createKeySchema, type CreateKeyBody, keyIdSchema } from './api-keys.schema';
import { ApiKeysUseCase } from './api-keys.use-case';
import { Tenant } from './principal';
import { RequireScope } from './scopes.decorator';

export const toKeyView = (k: ApiKeyRecord) => ({
  id: k.id,
  name: k.name,
  prefix: k.prefix,
  tenant: k.tenant,
  scopes: k.scopes,
  expires_at: k.expiresAt?.toISOString() ?? null,
  revoked_at: k.revokedAt?.toISOString() ?? null,
  last_used_at: k.lastUsedAt?.toISOString() ?? null,
  created_at: k.createdAt.toISOString(),
});

type KeyView = ReturnType<typeof toKeyView>;

@Controller('v1/admin/keys')
@RequireScope('admin')
export class ApiKeysController {
  constructor(private readonly keys: ApiKeysUseCase) {}

  /** The secret is in this answer only; afterwards the key is known by its prefix. */
  @Post()
  @HttpCode(HttpStatus.CREATED)
  async create(@Body(new ZodValidationPipe(createKeySchema)) body: CreateKeyBody, @Tenant() tenant: string): Promise<Envelope<KeyView & { key: string }>> {
    const { key, record } = await this.keys.create({ name: body.name, scopes: body.scopes, tenant: body.tenant ?? tenant, expiresAt: body.expires_at }, tenant);
    return ok('API key created; the key is shown only this once', { ...toKeyView(record), key });
  }

  @Get()
  async list(@Tenant() tenant: string): Promise<Envelope<{ keys: KeyView[] }>> {
    const keys = await this.keys.list(tenant);
    return ok(`${keys.length} keys`, { keys: keys.map(toKeyView) });
  }

  @Delete(':id')
  async revoke(@Param('id', new ZodValidationPipe(keyIdSchema, ['id'])) id: string, @Tenant() tenant: string): Promise<Envelope<KeyView>> {
    return ok('API key revoked', toKeyView(await this.keys.revoke(id, tenant)));
  }
}
