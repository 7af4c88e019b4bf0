import { Inject, Injectable, Logger, OnApplicationBootstrap } from '@nestjs/common';
import { APP_CONFIG, type AppConfig } from '../config';
import { API_KEY_PATTERN, keyPrefix, SCOPES } from './api-key';
import { ApiKeysRepository } from './api-keys.repository';

/**
 * RAGMESH_BOOTSTRAP_API_KEY, when set, exists with every scope in BOOTSTRAP_TENANT once the
 * gateway is up: `npm start` prints it as the development key and the test suites send it.
 * A key revoked since stays revoked.
 */
@Injectable()
export class BootstrapKey implements OnApplicationBootstrap {
  private readonly logger = new Logger('auth');

  constructor(
    private readonly keys: ApiKeysRepository,
    @Inject(APP_CONFIG) private readonly config: Pick<AppConfig, 'RAGMESH_BOOTSTRAP_API_KEY' | 'BOOTSTRAP_TENANT'>,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    const key = this.config.RAGMESH_BOOTSTRAP_API_KEY;
    if (!key) return;
    if (!API_KEY_PATTERN.test(key)) {
      throw new Error(`RAGMESH_BOOTSTRAP_API_KEY must look like rgm_<label>_<32-64 letters or digits> (got one starting ${keyPrefix(key)})`);
    }
    await this.keys.ensure(key, { name: 'bootstrap', tenant: this.config.BOOTSTRAP_TENANT, scopes: [...SCOPES] });
    this.logger.log({ key: keyPrefix(key), tenant: this.config.BOOTSTRAP_TENANT }, 'bootstrap API key ensured');
  }
}
