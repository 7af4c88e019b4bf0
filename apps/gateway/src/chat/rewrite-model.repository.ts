import { Inject, Injectable } from '@nestjs/common';
import { generation, GENERATION_SERVICE_CLIENT, unary } from '@ragmesh/contracts';
import { outgoingMetadata } from '@ragmesh/observability';

export interface RewriteCall {
  model: string;
  /** The instruction (sent as the persona, so the proxy puts it first in the system prompt). */
  instruction: string;
  messages: { role: 'system' | 'user' | 'assistant'; content: string }[];
  maxTokens: number;
  deadlineMs: number;
}

/** One non-streaming completion through the generation proxy, for the query rewrite. */
export abstract class RewriteModelRepository {
  abstract complete(call: RewriteCall): Promise<string>;
}

@Injectable()
export class GrpcRewriteModelRepository extends RewriteModelRepository {
  constructor(@Inject(GENERATION_SERVICE_CLIENT) private readonly client: generation.GenerationServiceClient) {
    super();
  }

  async complete(call: RewriteCall): Promise<string> {
    const response = await unary(
      this.client.generate.bind(this.client),
      {
        model: call.model,
        messages: call.messages,
        context: [],
        maxTokens: call.maxTokens,
        // Deterministic output parses best; proto3 0 would mean "the proxy's default", so a tiny positive value.
        temperature: 0.01,
        sessionId: '',
        persona: call.instruction,
      },
      outgoingMetadata(),
      call.deadlineMs,
    );
    return response.text;
  }
}
