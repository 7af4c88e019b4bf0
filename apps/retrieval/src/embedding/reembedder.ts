import { Inject, Injectable, Logger } from '@nestjs/common';
import type { Embedder } from '../common/embedder';
import { RetrievalMetrics } from '../common/metrics';
import { indexedText, vectorBy } from '../documents/document.model';
import { DocumentsRepository } from '../documents/documents.repository';
import { SearchIndex } from '../search/search-index';
import { EmbeddingModels } from './embedding-models';

export interface ReembedSettings {
  /** Chunks per step (one upstream request, one UPDATE). */
  batch: number;
  /** Pause before a failed re-embed starts over (the upstream may be down). */
  retryDelayMs: number;
}

export const REEMBED_SETTINGS = Symbol('REEMBED_SETTINGS');
export const REEMBED_RETRY_DELAY_MS = 5_000;

/**
 * Re-embeds in the background after the configured embedding model changed, without downtime:
 * the index keeps serving the old vectors (queries embedded by the old model) while the new
 * model's vectors are written beside them (chunks.next_embedding) and collected in memory;
 * once every chunk has one, the index switches in one synchronous step and PostgreSQL promotes
 * the new vectors in one statement. Every replica runs it; the writes are idempotent, and a
 * replica finding vectors already made elsewhere takes them from PostgreSQL instead.
 */
@Injectable()
export class Reembedder {
  private readonly logger = new Logger(Reembedder.name);
  private running: Promise<void> | undefined;
  private stopped = false;

  constructor(
    private readonly documents: DocumentsRepository,
    private readonly index: SearchIndex,
    private readonly models: EmbeddingModels,
    private readonly metrics: RetrievalMetrics,
    @Inject(REEMBED_SETTINGS) private readonly settings: ReembedSettings,
  ) {}

  /** Starts the background work (once) and returns at once; `done()` resolves when it ends. */
  start(): void {
    this.running ??= this.runUntilDone();
  }

  done(): Promise<void> {
    return this.running ?? Promise.resolve();
  }

  /** Stops after the step in progress. */
  async stop(): Promise<void> {
    this.stopped = true;
    await this.done();
  }

  private async runUntilDone(): Promise<void> {
    while (!this.stopped) {
      try {
        await this.run();
        return;
      } catch (err) {
        this.logger.warn(`re-embedding failed, retrying in ${this.settings.retryDelayMs} ms: ${err instanceof Error ? err.message : String(err)}`);
        await new Promise((resolve) => setTimeout(resolve, this.settings.retryDelayMs));
      }
    }
  }

  /** One pass: embed what PostgreSQL lacks, complete the index's next vectors, switch, promote. */
  async run(): Promise<void> {
    const target = this.models.target;
    const counts = await this.documents.embeddingModelCounts();
    if (counts.every((c) => c.model === target.name) && this.index.model === target.name) return;
    const started = Date.now();
    let embedded = 0;
    let after: string | null = null;
    while (!this.stopped) {
      const page = await this.documents.listChunksToReembed(target.name, after, this.settings.batch);
      if (page.length === 0) break;
      const vectors = await target.embed(page.map((chunk) => indexedText(chunk.title, chunk.text)));
      const written = new Set(
        await this.documents.storeNextEmbeddings(
          target.name,
          page.map((chunk, i) => ({ chunkId: chunk.chunkId, title: chunk.title, text: chunk.text, vector: vectors[i] })),
        ),
      );
      page.forEach((chunk, i) => {
        if (written.has(chunk.chunkId)) this.index.setNextVector(chunk.chunkId, target.name, vectors[i]);
      });
      embedded += written.size;
      this.metrics.chunksReembedded(written.size);
      after = page[page.length - 1].chunkId;
    }
    if (this.stopped) return;
    await this.switchIndex(target);
    const promoted = await this.documents.promoteNextEmbeddings(target.name);
    this.logger.log(`serving ${target.name}: ${embedded} chunks embedded, ${promoted} promoted in ${Date.now() - started} ms`);
  }

  /** Completes the index's next vectors (from PostgreSQL, else by embedding) and switches with no await in between. */
  private async switchIndex(target: Embedder): Promise<void> {
    if (this.index.model !== target.name) {
      for (let missing = this.index.missingNext(); missing.length > 0; missing = this.index.missingNext()) {
        await this.fillNext(missing.slice(0, this.settings.batch), target);
      }
      this.index.promoteNext();
    }
    this.models.completeSwitch();
  }

  private async fillNext(chunkIds: string[], target: Embedder): Promise<void> {
    const stored = new Map((await this.documents.findChunks(chunkIds)).map((chunk) => [chunk.chunkId, vectorBy(chunk, target.name)]));
    const lacking: { id: string; text: string }[] = [];
    for (const id of chunkIds) {
      const vector = stored.get(id);
      if (vector !== undefined) this.index.setNextVector(id, target.name, vector);
      else {
        // Not in PostgreSQL yet (or any more): embed what the index holds; a pending event will reload it.
        const chunk = this.index.get(id);
        if (chunk !== undefined) lacking.push({ id, text: indexedText(chunk.title, chunk.text) });
      }
    }
    if (lacking.length === 0) return;
    const vectors = await target.embed(lacking.map((l) => l.text));
    lacking.forEach((l, i) => this.index.setNextVector(l.id, target.name, vectors[i]));
  }
}
