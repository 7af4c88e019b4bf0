import type { Provider } from '@nestjs/common';
import { CallbackSender, OutboundCallbackSender } from './callback-sender';
import { ChatMetrics } from './chat.metrics';
import { QueryRewriter } from './query-rewriter';
import { GrpcRewriteModelRepository, RewriteModelRepository } from './rewrite-model.repository';
import { StreamRegistry } from './stream-registry';

/** What the chat feature needs besides ChatUseCase and the shared repositories; app.module spreads it. */
export const CHAT_PROVIDERS: Provider[] = [
  ChatMetrics,
  QueryRewriter,
  StreamRegistry,
  { provide: RewriteModelRepository, useClass: GrpcRewriteModelRepository },
  { provide: CallbackSender, useClass: OutboundCallbackSender },
];
