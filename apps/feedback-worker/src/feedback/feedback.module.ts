import { DynamicModule, Module } from '@nestjs/common';
import type { AppConfig } from '../config';
import { GenerationRepository, GrpcGenerationRepository } from '../grpc/generation.repository';
import { CALLBACK_OPTIONS, CallbackClient, type CallbackOptions, OutboundCallbackClient } from './callback.client';
import { FeedbackMetrics } from './feedback.metrics';
import { AmqpJobEvents, JobEvents, STATUS_EVENT_OPTIONS, STATUS_RELAY_OPTIONS, type StatusEventOptions, StatusRelay, type StatusRelayOptions } from './job-events';
import { JobsRepository, TypeOrmJobsRepository } from './jobs.repository';
import { FEEDBACK_GENERATION_OPTIONS, type FeedbackGenerationOptions, ProcessFeedbackUseCase } from './process-feedback.use-case';
import { REQUESTS_OPTIONS, RequestsConsumer, type RequestsOptions } from './requests.consumer';

type FeedbackConfig = Pick<
  AppConfig,
  | 'FEEDBACK_SIGNING_SECRET'
  | 'FEEDBACK_CALLBACK_TIMEOUT_MS'
  | 'OUTBOUND_ALLOWLIST'
  | 'FEEDBACK_MODEL'
  | 'FEEDBACK_STATUS_RELAY_INTERVAL_MS'
  | 'FEEDBACK_RUNNING_EVENT_DELAY_MS'
  | 'FEEDBACK_RETRY_DELAYS_MS'
  | 'FEEDBACK_PREFETCH'
>;

@Module({})
export class FeedbackModule {
  static register(config: FeedbackConfig): DynamicModule {
    const callbackOptions: CallbackOptions = {
      signingSecret: config.FEEDBACK_SIGNING_SECRET,
      timeoutMs: config.FEEDBACK_CALLBACK_TIMEOUT_MS,
      allowList: config.OUTBOUND_ALLOWLIST,
    };
    const generationOptions: FeedbackGenerationOptions = { model: config.FEEDBACK_MODEL };
    const relayOptions: StatusRelayOptions = { intervalMs: config.FEEDBACK_STATUS_RELAY_INTERVAL_MS };
    const eventOptions: StatusEventOptions = { runningDelayMs: config.FEEDBACK_RUNNING_EVENT_DELAY_MS };
    const requestsOptions: RequestsOptions = { retry: config.FEEDBACK_RETRY_DELAYS_MS, prefetch: config.FEEDBACK_PREFETCH };
    return {
      module: FeedbackModule,
      providers: [
        { provide: GenerationRepository, useClass: GrpcGenerationRepository },
        { provide: CALLBACK_OPTIONS, useValue: callbackOptions },
        { provide: FEEDBACK_GENERATION_OPTIONS, useValue: generationOptions },
        { provide: STATUS_RELAY_OPTIONS, useValue: relayOptions },
        { provide: STATUS_EVENT_OPTIONS, useValue: eventOptions },
        { provide: REQUESTS_OPTIONS, useValue: requestsOptions },
        { provide: JobsRepository, useClass: TypeOrmJobsRepository },
        { provide: CallbackClient, useClass: OutboundCallbackClient },
        { provide: JobEvents, useClass: AmqpJobEvents },
        FeedbackMetrics,
        ProcessFeedbackUseCase,
        RequestsConsumer,
        StatusRelay,
      ],
      exports: [RequestsConsumer, StatusRelay],
    };
  }
}
