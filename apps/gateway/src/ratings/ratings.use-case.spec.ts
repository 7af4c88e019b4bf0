import type { MessagePayload } from '@ragmesh/contracts';
import { NotFound } from '../http/api-error';
import { RatedTurn, RatingsRepository } from './ratings.repository';
import { ratingBodySchema } from './ratings.schema';
import { RatingsUseCase } from './ratings.use-case';

const CONVERSATION = '7d4c8f6e-3a51-4b0e-9c2f-5e8a1b9d0c11';

class MemoryRatings extends RatingsRepository {
  readonly published: MessagePayload<'conversation.rated'>[] = [];
  constructor(private readonly turns: Record<string, RatedTurn>) {
    super();
  }
  findTurn(conversationId: string, turnIndex: number, tenant: string): Promise<RatedTurn | null> {
    return Promise.resolve(this.turns[`${tenant}/${conversationId}/${turnIndex}`] ?? null);
  }
  publish(rating: MessagePayload<'conversation.rated'>): Promise<void> {
    this.published.push(rating);
    return Promise.resolve();
  }
}

describe('RatingsUseCase', () => {
  const turn = { question: '환불은 어떻게 하나요?', answer: '결제 페이지에서 환불을 요청하세요.', model: 'qwen' };

  it('announces the rated turn with its question, answer, model, score and comment', async () => {
    const repo = new MemoryRatings({ [`acme/${CONVERSATION}/2`]: turn });
    const rating = await new RatingsUseCase(repo).rate({ conversationId: CONVERSATION, turnIndex: 2, tenant: 'acme', score: 5, comment: 'clear' });
    expect(rating).toMatchObject({ conversationId: CONVERSATION, turnIndex: 2, score: 5, comment: 'clear' });
    expect(repo.published).toEqual([
      { conversationId: CONVERSATION, turnIndex: 2, ...turn, score: 5, comment: 'clear', ratedAt: rating.ratedAt.toISOString() },
    ]);
  });

  it('refuses a turn that does not exist or belongs to another tenant, announcing nothing', async () => {
    const repo = new MemoryRatings({ [`acme/${CONVERSATION}/0`]: turn });
    await expect(new RatingsUseCase(repo).rate({ conversationId: CONVERSATION, turnIndex: 1, tenant: 'acme', score: 4 })).rejects.toBeInstanceOf(NotFound);
    await expect(new RatingsUseCase(repo).rate({ conversationId: CONVERSATION, turnIndex: 0, tenant: 'other', score: 4 })).rejects.toThrow(/has no answered turn 0/u);
    expect(repo.published).toEqual([]);
  });
});

describe('rating body', () => {
  it.each([
    [{}, 'score', 'is required'],
    [{ score: 0 }, 'score', 'must be at least 1'],
    [{ score: 6 }, 'score', 'must be at most 5'],
    [{ score: 4.5 }, 'score', 'must be an integer'],
    [{ score: '5' }, 'score', 'must be a number'],
    [{ score: 5, comment: 7 }, 'comment', 'must be a string'],
    [{ score: 5, stars: 5 }, '', 'Unrecognized key'],
  ])('rejects %j naming %s', (body, field, reason) => {
    const result = ratingBodySchema.safeParse(body);
    expect(result.success).toBe(false);
    const issue = result.success ? undefined : result.error.issues[0];
    expect(issue?.path.join('.')).toBe(field);
    expect(issue?.message).toContain(reason);
  });

  it('accepts a score with an optional comment', () => {
    expect(ratingBodySchema.parse({ score: 3 })).toEqual({ score: 3 });
    expect(ratingBodySchema.parse({ score: 1, comment: 'wrong' })).toEqual({ score: 1, comment: 'wrong' });
  });
});
