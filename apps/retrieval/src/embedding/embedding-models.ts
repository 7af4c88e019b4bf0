import { OpenAiEmbeddingClient } from '@ragmesh/llm';
import { Embedder, LocalHashingEmbedder, UpstreamEmbedder } from '../common/embedder';
import type { ChunkVectors } from '../documents/document.model';
import type { AppConfig } from '../config';

/** An embedder for a stored model name; undefined when this replica cannot run that model. */
export type EmbedderResolver = (model: string) => Embedder | undefined;

export interface QueryVector {
  model: string;
  vector: number[];
}

/**
 * Which model serves queries and which one new vectors are made for. Normally both are the
 * configured `target`. After the configured model changes, the index keeps serving the stored
 * vectors (and embeds queries with their model) while the re-embedder makes the target's;
 * meanwhile every new chunk gets vectors by both. `completeSwitch` flips serving to the target.
 */
export class EmbeddingModels {
  private current: Embedder;

  constructor(
    readonly target: Embedder,
    private readonly resolve: EmbedderResolver,
  ) {
    this.current = target;
  }

  get serving(): Embedder {
    return this.current;
  }

  /** The model being re-embedded to; undefined when no change is under way. */
  get next(): Embedder | undefined {
    return this.current.name === this.target.name ? undefined : this.target;
  }

  /**
   * Serve from the vectors stored by `model`. False (and the target serves) when this replica
   * cannot embed queries with that model: the stored vectors are then re-embedded at load.
   */
  serveFrom(model: string): boolean {
    const embedder = model === this.target.name ? this.target : this.resolve(model);
    this.current = embedder ?? this.target;
    return embedder !== undefined;
  }

  completeSwitch(): void {
    this.current = this.target;
  }

  embedderFor(model: string): Embedder | undefined {
    if (model === this.current.name) return this.current;
    return model === this.target.name ? this.target : this.resolve(model);
  }

  async embedQuery(text: string): Promise<QueryVector> {
    const embedder = this.current;
    const [vector] = await embedder.embed([text]);
    return { model: embedder.name, vector };
  }

  /** Vectors for new chunks: by the serving model and, during a change, by the target too. */
  async vectorsFor(texts: string[]): Promise<ChunkVectors[]> {
    const serving = this.current;
    const next = this.next;
    const [embeddings, nextEmbeddings] = await Promise.all([serving.embed(texts), next?.embed(texts)]);
    return embeddings.map((embedding, i) => ({
      embedding,
      embeddingModel: serving.name,
      nextEmbedding: nextEmbeddings?.[i] ?? null,
      nextEmbeddingModel: nextEmbeddings === undefined || next === undefined ? null : next.name,
    }));
  }
}

/**
 * The configured model (an OpenAI-compatible upstream when RETRIEVAL_EMBEDDINGS_URL is set,
 * the local hashing embedder otherwise); older stored models resolve to the local embedder by
 * its name, or to the same upstream serving that model name.
 */
export function embeddingModelsFrom(config: AppConfig): EmbeddingModels {
  const local = new LocalHashingEmbedder();
  const upstream = (model: string): UpstreamEmbedder | undefined =>
    config.RETRIEVAL_EMBEDDINGS_URL === undefined
      ? undefined
      : new UpstreamEmbedder(
          new OpenAiEmbeddingClient({
            baseUrl: config.RETRIEVAL_EMBEDDINGS_URL,
            model,
            apiKey: config.RETRIEVAL_EMBEDDINGS_API_KEY || undefined,
            timeoutMs: config.RETRIEVAL_EMBEDDINGS_TIMEOUT_MS,
            batchSize: config.RETRIEVAL_REEMBED_BATCH,
          }),
        );
  const target = config.RETRIEVAL_EMBEDDINGS_URL === undefined ? local : (upstream(config.RETRIEVAL_EMBEDDINGS_MODEL) ?? local);
  return new EmbeddingModels(target, (model) => (model === local.name ? local : upstream(model)));
}
