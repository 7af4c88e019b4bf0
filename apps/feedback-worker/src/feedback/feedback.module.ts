import { DynamicModule, Module } from '@nestjs/common';
import type { AppConfig } from '../config';
import { GenerationRepository, GrpcGenerationRepository } from '../grpc/generation.repository';
import { AxiosCallbackClient, CALLBACK_OPTIONS, CallbackClient, type CallbackOptions } from './callback.client';
import { FeedbackMetrics } from './feedback.metrics';
import { AmqpJobEvents, JobEvents } from './job-events';
import { JobsRepository, TypeOrmJobsRepository } from './jobs.repository';
import { ProcessFeedbackUseCase } from './process-feedback.use-case';
import { RequestsConsumer } from './requests.consumer';

@Module({})
export class FeedbackModule {
  static register(config: Pick<AppConfig, 'FEEDBACK_SIGNING_SECRET' | 'FEEDBACK_CALLBACK_TIMEOUT_MS'>): DynamicModule {
    const callbackOptions: CallbackOptions = { signingSecret: config.FEEDBACK_SIGNING_SECRET, timeoutMs: config.FEEDBACK_CALLBACK_TIMEOUT_MS };
    return {
      module: FeedbackModule,
      providers: [
        { provide: GenerationRepository, useClass: GrpcGenerationRepository },
        { provide: CALLBACK_OPTIONS, useValue: callbackOptions },
        { provide: JobsRepository, useClass: TypeOrmJobsRepository },
        { provide: CallbackClient, useClass: AxiosCallbackClient },
        { provide: JobEvents, useClass: AmqpJobEvents },
        FeedbackMetrics,
        ProcessFeedbackUseCase,
        RequestsConsumer,
      ],
      exports: [RequestsConsumer],
    };
  }
}
