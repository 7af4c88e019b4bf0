import { ChatEngine, GenerateEvent, LOCAL_ENGINE_MODEL, LOCAL_FEEDBACK_MODEL, LOCAL_SUMMARIZER_MODEL } from '@ragmesh/llm';
import { DEFAULT_UPSTREAM, LOCAL_UPSTREAM, ModelNotFoundError, StaticEngineRouter } from './engine-router';

function fakeEngine(name: string, models: () => Promise<string[]> = () => Promise.resolve([])): ChatEngine {
  return {
    name,
    async *generate(): AsyncIterable<GenerateEvent> {
      return;
    },
    summarize: () => Promise.resolve(''),
    listModels: models,
  };
}

describe('StaticEngineRouter', () => {
  const local = fakeEngine('local-extractive');
  const upstream = fakeEngine('openai-compatible', () => Promise.resolve(['qwen-7b', 'llama-8b']));

  describe('without an upstream', () => {
    const router = new StaticEngineRouter({ local });

    it('sends requests without a model to the local engine', () => {
      expect(router.forGeneration('')).toEqual({ engine: local, upstream: LOCAL_UPSTREAM, model: LOCAL_ENGINE_MODEL });
      expect(router.hasUpstream).toBe(false);
    });

    it('summarizes locally with the summarizer model', () => {
      expect(router.forSummary('')).toEqual({ engine: local, upstream: LOCAL_UPSTREAM, model: LOCAL_SUMMARIZER_MODEL });
      expect(router.forSummary(LOCAL_ENGINE_MODEL).model).toBe(LOCAL_SUMMARIZER_MODEL);
    });

    it('rejects a non-local model with NOT_FOUND naming it', () => {
      expect(() => router.forGeneration('gpt-4o')).toThrow(ModelNotFoundError);
      expect(() => router.forGeneration('gpt-4o')).toThrow(/"gpt-4o" is not served: no upstream is configured/);
    });

    it('lists only the local models', async () => {
      const models = await router.listModels();
      expect(models.map((m) => m.id)).toEqual([LOCAL_ENGINE_MODEL, LOCAL_SUMMARIZER_MODEL, LOCAL_FEEDBACK_MODEL]);
      expect(models.every((m) => m.ownedBy === 'local' && m.upstream === 'local')).toBe(true);
    });
  });

  describe('with an upstream', () => {
    const router = new StaticEngineRouter({ local, upstream, upstreamModel: 'qwen-7b' });

    it('sends requests without a model upstream with the configured model', () => {
      expect(router.forGeneration('')).toEqual({ engine: upstream, upstream: DEFAULT_UPSTREAM, model: 'qwen-7b' });
    });

    it('passes a named model through to the upstream', () => {
      expect(router.forGeneration('llama-8b')).toEqual({ engine: upstream, upstream: DEFAULT_UPSTREAM, model: 'llama-8b' });
    });

    it('keeps local-… models on the local engine', () => {
      expect(router.forGeneration(LOCAL_ENGINE_MODEL).engine).toBe(local);
      expect(router.forSummary(LOCAL_SUMMARIZER_MODEL).engine).toBe(local);
    });

    it('rejects an unknown local-… model', () => {
      expect(() => router.forGeneration('local-gpt')).toThrow(/"local-gpt" is not a local model/);
    });

    it('lets the upstream pick its model when none is configured', () => {
      const bare = new StaticEngineRouter({ local, upstream });
      expect(bare.forGeneration('').model).toBeUndefined();
    });

    it('honours GENERATION_DEFAULT_MODEL', () => {
      const routed = new StaticEngineRouter({ local, upstream, upstreamModel: 'qwen-7b', defaultModel: LOCAL_ENGINE_MODEL });
      expect(routed.forGeneration('').engine).toBe(local);
      expect(routed.forGeneration('llama-8b').engine).toBe(upstream);
    });

    it('lists local and upstream models without duplicates', async () => {
      const models = await router.listModels();
      expect(models.map((m) => `${m.ownedBy}/${m.id}`)).toEqual([
        `local/${LOCAL_ENGINE_MODEL}`,
        `local/${LOCAL_SUMMARIZER_MODEL}`,
        `local/${LOCAL_FEEDBACK_MODEL}`,
        'default/qwen-7b',
        'default/llama-8b',
      ]);
    });

    it('still lists local and configured models when the upstream is down', async () => {
      const down = fakeEngine('openai-compatible', () => Promise.reject(new Error('ECONNREFUSED')));
      const models = await new StaticEngineRouter({ local, upstream: down, upstreamModel: 'qwen-7b' }).listModels();
      expect(models.map((m) => m.id)).toEqual([LOCAL_ENGINE_MODEL, LOCAL_SUMMARIZER_MODEL, LOCAL_FEEDBACK_MODEL, 'qwen-7b']);
    });
  });
});
