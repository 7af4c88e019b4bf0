import { DynamicModule, Module } from '@nestjs/common';
import type { AppConfig } from '../config';
import { GenerationRepository, GrpcGenerationRepository } from '../grpc/generation.repository';
import { SummariesRepository, TypeOrmSummariesRepository } from './summaries.repository';
import { SummarizeTurnUseCase, SUMMARY_POLICY, type SummaryPolicy } from './summarize-turn.use-case';
import { SummarizerMetrics } from './summarizer.metrics';
import { AmqpSummaryEventsRepository, SummaryEventsRepository } from './summary-events.repository';
import { TurnsConsumer } from './turns.consumer';

@Module({})
export class SummariesModule {
  static register(config: Pick<AppConfig, 'SUMMARY_MAX_SENTENCES'>): DynamicModule {
    const policy: SummaryPolicy = { maxSentences: config.SUMMARY_MAX_SENTENCES };
    return {
      module: SummariesModule,
      providers: [
        { provide: GenerationRepository, useClass: GrpcGenerationRepository },
        { provide: SUMMARY_POLICY, useValue: policy },
        { provide: SummariesRepository, useClass: TypeOrmSummariesRepository },
        { provide: SummaryEventsRepository, useClass: AmqpSummaryEventsRepository },
        SummarizerMetrics,
        SummarizeTurnUseCase,
        TurnsConsumer,
      ],
      exports: [TurnsConsumer],
    };
  }
}
