'use strict';
require('../lib/register-ts');
const { LocalHashingEmbedder } = require('../../apps/retrieval/src/common/embedder');
const { KeyedLock } = require('../../apps/retrieval/src/common/keyed-lock');
const { EmbeddingModels } = require('../../apps/retrieval/src/embedding/embedding-models');
const { RetrievalMetrics } = require('../../apps/retrieval/src/common/metrics');
const { DocumentEvents } = require('../../apps/retrieval/src/documents/document-events');
const { DocumentsRepository } = require('../../apps/retrieval/src/documents/documents.repository');
const { IngestDocumentUseCase } = require('../../apps/retrieval/src/documents/ingest-document.use-case');
const { SearchIndex } = require('../../apps/retrieval/src/search/search-index');
const { SearchUseCase } = require('../../apps/retrieval/src/search/search.use-case');
const { loadAppConfig } = require('../../apps/retrieval/src/config');
const { searchSettingsFrom, chunkingSettingsFrom } = require('../../apps/retrieval/src/common/settings');

/** PostgreSQL is not what is measured here: writes are accepted and forgotten. */
class NullDocumentsRepository extends DocumentsRepository {
  async replaceDocument() {
    return { replaced: false };
  }
  async replaceDocuments(batch) {
    return batch.map(() => ({ replaced: false }));
  }
  async listDocuments() {
    return [];
  }
  async deleteDocument() {
    return false;
  }
  async findChunk() {
    return null;
  }
  async findDocumentChunks() {
    return [];
  }
  async listChunks() {
    return [];
  }
  async embeddingModelCounts() {
    return [];
  }
  async listChunksToReembed() {
    return [];
  }
  async storeNextEmbeddings() {
    return [];
  }
  async findChunks() {
    return [];
  }
  async promoteNextEmbeddings() {
    return 0;
  }
}

class NullEvents extends DocumentEvents {
  async ingested() {}
  async deleted() {}
}

class NullMetrics extends RetrievalMetrics {
  documentIngested() {}
  documentDeleted() {}
  indexSize() {}
  searchCompleted() {}
  eventPublishFailed() {}
  queryEmbeddingFailed() {}
  chunksReembedded() {}
}

/**
 * ragmesh's retrieval in-process: the service's own ingest and search use-cases (chunking,
 * embedding, BM25 + dense index, fusion) with the service's default configuration; only
 * PostgreSQL and RabbitMQ are replaced by no-ops.
 */
function createRagmesh(overrides = {}) {
  const config = loadAppConfig({});
  const search = { ...searchSettingsFrom(config), ...overrides.search };
  const embedder = overrides.embedder ?? new LocalHashingEmbedder();
  const models = new EmbeddingModels(embedder, () => undefined);
  const index = new SearchIndex();
  const metrics = new NullMetrics();
  const ingest = new IngestDocumentUseCase(
    new NullDocumentsRepository(),
    index,
    models,
    new NullEvents(),
    metrics,
    new KeyedLock(),
    chunkingSettingsFrom(config),
  );
  const searcher = new SearchUseCase(index, models, metrics, search);
  return { index, ingest, searcher, settings: search };
}

/** Returns a ko-dev search function over ragmesh, after ingesting every document. */
async function buildRagmesh(docs, overrides) {
  const { ingest, searcher } = createRagmesh(overrides);
  for (const doc of docs) {
    await ingest.execute({ id: doc.id, title: doc.title, content: doc.text, format: 'text' });
  }
  return async (question, k) => {
    const { results } = await searcher.execute({ query: question, topK: k });
    const ids = [];
    for (const r of results) if (!ids.includes(r.documentId)) ids.push(r.documentId);
    return ids;
  };
}

module.exports = { buildRagmesh, createRagmesh };
