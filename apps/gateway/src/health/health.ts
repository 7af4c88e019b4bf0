import type { HealthCheck } from '@ragmesh/observability';
import { postgresHealthCheck } from '@ragmesh/persistence';
import type { Messaging } from '@ragmesh/messaging';
import type { DataSource } from 'typeorm';

/** What /health/ready waits for: the gateway cannot serve a turn without its database and broker, and is not ready once it drains. */
export function readinessChecks(ds: DataSource, messaging: Messaging, draining: HealthCheck): Record<string, HealthCheck> {
  return { postgres: postgresHealthCheck(ds), rabbitmq: messaging.healthCheck(), shutdown: draining };
}
