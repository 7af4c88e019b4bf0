import { Module } from '@nestjs/common';
import { RatingsController } from './ratings.controller';
import { PgAmqpRatingsRepository, RatingsRepository } from './ratings.repository';
import { RatingsUseCase } from './ratings.use-case';

/** Users rate answers (issue 7); DATA_SOURCE and MESSAGING come from the global modules. */
@Module({
  controllers: [RatingsController],
  providers: [{ provide: RatingsRepository, useClass: PgAmqpRatingsRepository }, RatingsUseCase],
})
export class RatingsModule {}
