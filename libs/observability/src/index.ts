export {
  CORRELATION_HEADER,
  getCorrelationId,
  runWithCorrelationId,
  newCorrelationId,
  acceptCorrelationId,
} from './correlation';
export { createLogger, DEFAULT_LOG_LEVEL } from './logger';
export { ObservabilityModule } from './observability.module';
export type { ObservabilityOptions } from './observability.module';
export { MetricsService, metricsRegistry, initMetrics, getOrCreateCounter, getOrCreateGauge, getOrCreateHistogram } from './metrics';
export { METRIC_PREFIX, HISTOGRAM_UNITS, DURATION_BUCKETS, MetricNameError, assertMetricName, metricNameProblem } from './naming';
export type { MetricKind } from './naming';
export { startOpsServer, healthRouter, checkReadiness, HEALTH_CHECK_TIMEOUT_MS, OPS_PATHS } from './health';
export type { HealthCheck, OpsServer, OpsServerOptions, ReadinessReport, CheckResult } from './health';
export { httpCorrelationMiddleware } from './http-correlation';
export {
  GrpcCorrelationInterceptor,
  outgoingMetadata,
  addGrpcHealthAndReflection,
  grpcCodeOf,
  GRPC_HANDLED_METRIC,
  GRPC_DURATION_METRIC,
} from './grpc';
export type { GrpcHealthHandle } from './grpc';
export { runService, BOOT_FAILURE_EXIT_CODE } from './run-service';
export { startWorker, exitOnShutdownSignals, SHUTDOWN_SIGNALS } from './lifecycle';
export type { RunningWorker, WorkerOptions, ShutdownOptions } from './lifecycle';
