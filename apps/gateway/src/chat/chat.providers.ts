import type { Provider } from '@nestjs/common';
import { CallbackSender, OutboundCallbackSender } from './callback-sender';
import { ChatMetrics } from './chat.metrics';
import { QueryRewriter } from './query-rewriter';
import { PgReplicaDirectory, ReplicaDirectory } from './replica-directory.repository';
import { ReplicaPresence } from './replica-presence';
import { GrpcRewriteModelRepository, RewriteModelRepository } from './rewrite-model.repository';
import { HttpStreamForwarder, StreamForwarder } from './stream-forwarder';
import { StreamOwners } from './stream-owners';
import { StreamRegistry } from './stream-registry';

/** What the chat feature needs besides ChatUseCase and the shared repositories; app.module spreads it. */
export const CHAT_PROVIDERS: Provider[] = [
  ChatMetrics,
  QueryRewriter,
  StreamRegistry,
  // Resume on any replica: the replica directory, this replica's row in it, and forwarding to the owner.
  StreamOwners,
  ReplicaPresence,
  { provide: ReplicaDirectory, useClass: PgReplicaDirectory },
  { provide: StreamForwarder, useClass: HttpStreamForwarder },
  { provide: RewriteModelRepository, useClass: GrpcRewriteModelRepository },
  { provide: CallbackSender, useClass: OutboundCallbackSender },
];
