import type { HealthCheck } from '@ragmesh/observability';
import { postgresHealthCheck } from '@ragmesh/persistence';
import type { Messaging } from '@ragmesh/messaging';
import type { DataSource } from 'typeorm';

/** What /health/ready waits for: the gateway cannot serve a turn without its database and broker. */
export function readinessChecks(ds: DataSource, messaging: Messaging): Record<string, HealthCheck> {
  return { postgres: postgresHealthCheck(ds), rabbitmq: messaging.healthCheck() };
}
