export { Messaging, HEARTBEAT_SECONDS, RECONNECT_DELAY_SECONDS, PUBLISH_ATTEMPT_TIMEOUT_MS, CLOSE_DRAIN_TIMEOUT_MS, DEFAULT_DEAD_LETTER_LIMIT, DEFAULT_MAX_BATCH } from './messaging';
export type { MessagingOptions, PublishOptions, ConsumerSpec, BatchConsumerSpec, DeadLetter } from './messaging';
export { PermanentError, InvalidMessageError, UnroutableMessageError, PublishNackedError, PublishTimeoutError } from './errors';
export {
  DEFAULT_RETRY,
  DEFAULT_PREFETCH,
  ATTEMPT_HEADER,
  DEATH_REASON_HEADER,
  FAILED_AT_HEADER,
  LAST_ERROR_HEADER,
  ORIGINAL_ROUTING_KEY_HEADER,
  REPLAYED_AT_HEADER,
  retryQueueName,
  deadLetterQueueName,
  decideOnFailure,
  parseRetryDelays,
  retryDelaysEnv,
} from './policy';
export type { RetryPolicy, FailureDecision } from './policy';
export { buildEnvelope, decodeEnvelope } from './envelope';
export { MessagingModule, MESSAGING } from './messaging.module';
export type { MessagingModuleOptions, MessagingClosePhase } from './messaging.module';
export { classifyGrpcError, PERMANENT_GRPC_CODES } from './grpc-failure';
