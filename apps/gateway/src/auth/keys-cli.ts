import { parseArgs } from 'node:util';
import { openServiceDataSource } from '@ragmesh/persistence';
import type { DataSource } from 'typeorm';
import type { AppConfig } from '../config';
import { dataSourceOptions } from '../persistence/data-source';
import { isScope, SCOPES, type Scope } from './api-key';
import { ApiKeysRepository, type ApiKeyRecord } from './api-keys.repository';
import { TENANT_PATTERN } from './api-keys.schema';

export const KEYS_USAGE = `usage:
  npm run keys -- create --name <name> --scopes <chat,documents,feedback,admin> [--tenant <tenant>] [--expires <ISO date-time>]
  npm run keys -- list [--tenant <tenant>]
  npm run keys -- revoke <key id>`;

/** A mistake in the command line: printed with the usage, exit 2. */
export class UsageError extends Error {}

export interface CreateArgs {
  name: string;
  scopes: Scope[];
  tenant: string;
  expiresAt?: Date;
}

export function parseCreateArgs(args: string[], defaultTenant: string): CreateArgs {
  const { values } = parseArgs({
    args,
    options: { name: { type: 'string' }, scopes: { type: 'string' }, tenant: { type: 'string' }, expires: { type: 'string' } },
    strict: true,
  });
  if (!values.name?.trim()) throw new UsageError('--name is required');
  const scopes = (values.scopes ?? '').split(',').map((s) => s.trim()).filter((s) => s !== '');
  if (scopes.length === 0) throw new UsageError(`--scopes is required: a comma-separated list of ${SCOPES.join(', ')}`);
  const unknown = scopes.filter((s) => !isScope(s));
  if (unknown.length > 0) throw new UsageError(`unknown scope ${unknown.join(', ')}; scopes are ${SCOPES.join(', ')}`);
  const tenant = values.tenant ?? defaultTenant;
  if (!TENANT_PATTERN.test(tenant)) throw new UsageError(`--tenant '${tenant}' must be 1-63 characters of a-z, 0-9, _ and -`);
  let expiresAt: Date | undefined;
  if (values.expires !== undefined) {
    expiresAt = new Date(values.expires);
    if (Number.isNaN(expiresAt.getTime())) throw new UsageError(`--expires '${values.expires}' is not a date-time (e.g. 2027-01-31T00:00:00Z)`);
    if (expiresAt.getTime() <= Date.now()) throw new UsageError('--expires must be in the future');
  }
  return { name: values.name.trim(), scopes: [...new Set(scopes as Scope[])], tenant, expiresAt };
}

const describe = (k: ApiKeyRecord): string =>
  [
    k.id,
    k.prefix.padEnd(16),
    k.tenant,
    k.scopes.join(','),
    k.revokedAt ? `revoked ${k.revokedAt.toISOString()}` : k.expiresAt ? `expires ${k.expiresAt.toISOString()}` : 'active',
    JSON.stringify(k.name),
  ].join('  ');

async function run(repo: ApiKeysRepository, command: string | undefined, args: string[], defaultTenant: string, out: (line: string) => void): Promise<void> {
  switch (command) {
    case 'create': {
      const { key, record } = await repo.create(parseCreateArgs(args, defaultTenant));
      out(`created ${describe(record)}`);
      out(`key (shown only this once): ${key}`);
      return;
    }
    case 'list': {
      const { values } = parseArgs({ args, options: { tenant: { type: 'string' } }, strict: true });
      for (const k of await repo.list(values.tenant)) out(describe(k));
      return;
    }
    case 'revoke': {
      const id = args[0];
      if (!id || !/^[0-9a-f-]{36}$/i.test(id)) throw new UsageError('revoke needs the key id (a uuid, see npm run keys -- list)');
      const revoked = await repo.revoke(id);
      if (!revoked) throw new UsageError(`no API key ${id}`);
      out(`revoked ${describe(revoked)}`);
      return;
    }
    default:
      throw new UsageError(command ? `unknown command '${command}'` : 'a command is required');
  }
}

/** `node dist/apps/gateway/src/main.js keys …` (what `npm run keys` runs): manages keys straight in PostgreSQL. */
export async function runKeysCli(argv: string[], config: Pick<AppConfig, 'DATABASE_URL' | 'BOOTSTRAP_TENANT'>, out = console.log): Promise<number> {
  let ds: DataSource | undefined;
  try {
    ds = await openServiceDataSource(dataSourceOptions(config));
    await run(new ApiKeysRepository(ds), argv[0], argv.slice(1), config.BOOTSTRAP_TENANT, out);
    return 0;
  } catch (err) {
    const usage = err instanceof UsageError || (err as { code?: unknown }).code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION';
    if (!usage) throw err;
    process.stderr.write(`${(err as Error).message}\n${KEYS_USAGE}\n`);
    return 2;
  } finally {
    await ds?.destroy();
  }
}
