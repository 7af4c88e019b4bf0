import 'reflect-metadata';
import { BeforeApplicationShutdown, Inject, Injectable, Module, OnApplicationShutdown } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { type Messaging, MESSAGING, MessagingModule, type MessagingModuleOptions } from './index';

const AMQP_URL = process.env.AMQP_URL ?? 'amqp://guest:guest@127.0.0.1:5672';

/** Records whether the connection is still up in each shutdown phase. */
@Injectable()
class PhaseProbe implements BeforeApplicationShutdown, OnApplicationShutdown {
  readonly connected: Record<'before' | 'on', boolean | undefined> = { before: undefined, on: undefined };
  constructor(@Inject(MESSAGING) private readonly messaging: Messaging) {}

  private async isConnected(): Promise<boolean> {
    return this.messaging.healthCheck()().then(
      () => true,
      () => false,
    );
  }

  async beforeApplicationShutdown(): Promise<void> {
    this.connected.before = await this.isConnected();
  }

  async onApplicationShutdown(): Promise<void> {
    this.connected.on = await this.isConnected();
  }
}

async function shutdownPhases(options: Partial<MessagingModuleOptions>): Promise<PhaseProbe['connected']> {
  @Module({ imports: [MessagingModule.forRoot({ url: AMQP_URL, service: 'messaging-module-it', logLevel: 'silent', ...options })], providers: [PhaseProbe] })
  class TestModule {}
  const app = await NestFactory.createApplicationContext(TestModule, { logger: false });
  const messaging = app.get<Messaging>(MESSAGING);
  await expect(messaging.healthCheck()()).resolves.toBeUndefined();
  const probe = app.get(PhaseProbe);
  await app.close();
  await expect(messaging.healthCheck()()).rejects.toThrow();
  return probe.connected;
}

describe('MessagingModule.forRoot (real RabbitMQ)', () => {
  it('connects before the app starts and, by default, closes before any onApplicationShutdown hook runs', async () => {
    const phases = await shutdownPhases({});
    expect(phases).toEqual({ before: true, on: false });
  });

  it("with closeOn 'onApplicationShutdown' stays connected past beforeApplicationShutdown and the HTTP server's dispose", async () => {
    // The app module's own hooks run before the global module's: still connected there, closed right after.
    const phases = await shutdownPhases({ closeOn: 'onApplicationShutdown' });
    expect(phases).toEqual({ before: true, on: true });
  });
});
