import { HashingEmbedder, OpenAiEmbeddingClient } from '@ragmesh/llm';

/**
 * Makes dense vectors (L2-normalised) for chunks and queries. `name` is the model name stored
 * with every vector: vectors of two names are never compared. Abstract for DI and fakes.
 */
export abstract class Embedder {
  abstract readonly name: string;
  /** One vector per text, in order. */
  abstract embed(texts: string[]): Promise<number[][]>;
}

/** The built-in hashing embedder (libs/llm): no model, no network, always available. */
export class LocalHashingEmbedder extends Embedder {
  readonly name: string;

  constructor(private readonly hashing = new HashingEmbedder()) {
    super();
    this.name = hashing.name;
  }

  embed(texts: string[]): Promise<number[][]> {
    return Promise.resolve(texts.map((text) => this.hashing.embed(text)));
  }
}

/** A model behind an OpenAI-compatible `/v1/embeddings` upstream (e.g. vLLM serving a Korean embedding model). */
export class UpstreamEmbedder extends Embedder {
  readonly name: string;

  constructor(private readonly client: OpenAiEmbeddingClient) {
    super();
    this.name = client.model;
  }

  embed(texts: string[]): Promise<number[][]> {
    return this.client.embed(texts);
  }
}

