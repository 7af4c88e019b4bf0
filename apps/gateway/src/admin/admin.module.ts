import { Module } from '@nestjs/common';
import { DeadLettersController } from './dead-letters.controller';
import { AmqpDeadLettersRepository, DeadLettersRepository } from './dead-letters.repository';
import { DeadLettersUseCase } from './dead-letters.use-case';

/** Operator endpoints under /v1/admin (API keys with the `admin` scope). */
@Module({
  controllers: [DeadLettersController],
  providers: [{ provide: DeadLettersRepository, useClass: AmqpDeadLettersRepository }, DeadLettersUseCase],
})
export class AdminModule {}
