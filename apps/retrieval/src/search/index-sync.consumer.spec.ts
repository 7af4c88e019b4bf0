import type { Messaging } from '@ragmesh/messaging';
import { buildHarness } from '../../test/fakes';
import { KeyedLock } from '../common/keyed-lock';
import { IndexLoader } from './index-loader';
import { IndexSyncConsumer } from './index-sync.consumer';
import { SearchIndex } from './search-index';

describe('IndexSyncConsumer.refresh', () => {
  it("converges another replica's index on the committed state of the document", async () => {
    // Replica A writes; replica B only hears the events and reloads from the shared store.
    const a = buildHarness();
    const indexB = new SearchIndex();
    const loaderB = new IndexLoader(a.repository, indexB, a.models, a.metrics);
    const consumerB = new IndexSyncConsumer({} as Messaging, loaderB, new KeyedLock());

    await a.ingest.execute({ id: 'd', title: 'T', content: 'first version', format: 'text' });
    await consumerB.refresh('d');
    expect(indexB.get('d#0')?.text).toBe('first version');

    await a.ingest.execute({ id: 'd', title: 'T', content: 'second version', format: 'text' });
    await consumerB.refresh('d');
    // A late, repeated event changes nothing: the reload reads the latest state.
    await consumerB.refresh('d');
    expect(indexB.get('d#0')?.text).toBe('second version');
    expect(indexB.chunkCount).toBe(1);

    await a.remove.execute({ id: 'd' });
    await consumerB.refresh('d');
    expect(indexB.chunkCount).toBe(0);
    expect(indexB.documentCount).toBe(0);
  });
});
