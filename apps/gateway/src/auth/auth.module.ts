import { DynamicModule, Module } from '@nestjs/common';
import { APP_GUARD } from '@nestjs/core';
import { APP_CONFIG, type AppConfig } from '../config';
import { ApiKeyGuard } from './api-key.guard';
import { ApiKeyLookup } from './api-key-lookup';
import { ApiKeysController } from './api-keys.controller';
import { ApiKeysRepository } from './api-keys.repository';
import { ApiKeysUseCase } from './api-keys.use-case';
import { BootstrapKey } from './bootstrap-key';
import { RateLimits } from './rate-limits';

/** API keys, scopes and per-key limits: the global guard in front of every Nest route. */
@Module({})
export class AuthModule {
  static register(config: AppConfig): DynamicModule {
    return {
      module: AuthModule,
      controllers: [ApiKeysController],
      providers: [
        { provide: APP_CONFIG, useValue: config },
        ApiKeysRepository,
        ApiKeyLookup,
        ApiKeysUseCase,
        RateLimits,
        BootstrapKey,
        { provide: APP_GUARD, useClass: ApiKeyGuard },
      ],
      exports: [ApiKeysRepository, RateLimits],
    };
  }
}
