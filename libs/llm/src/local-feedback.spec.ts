import {
  feedbackActivityMessage,
  josa,
  LOCAL_FEEDBACK_MODEL,
  LOCAL_FEEDBACK_NO_DATA,
  LocalFeedbackEngine,
  readFeedbackActivity,
  withLocalFeedback,
  writeLocalFeedback,
  type FeedbackActivityDocument,
} from './local-feedback';
import type { ChatEngine, GenerateEvent } from './types';

const doc = (challenges: FeedbackActivityDocument['activity']['challenges'], period = true): FeedbackActivityDocument => ({
  memberId: 'm-1',
  ...(period ? { period: { startDate: '2024-05-01T00:00:00.000Z', endDate: '2024-05-31T00:00:00.000Z' } } : {}),
  activity: { challenges },
});

async function collect(events: AsyncIterable<GenerateEvent>): Promise<GenerateEvent[]> {
  const out: GenerateEvent[] = [];
  for await (const e of events) out.push(e);
  return out;
}

describe('writeLocalFeedback', () => {
  const challenges = [
    { title: '아침 달리기', category: '운동', achieved: 9, total: 10, startDate: '2024-05-01', endDate: '2024-05-07' },
    { title: '물 2리터', category: '식단', achieved: 3, total: 10, startDate: '2024-05-08', endDate: '2024-05-14' },
    { title: '스쿼트 100개', category: '운동', achieved: 10, total: 10, startDate: '2024-05-15', endDate: '2024-05-21' },
    { title: '야식 끊기', category: '식단', achieved: 8, total: 10, startDate: '2024-05-22', endDate: '2024-05-28' },
  ];

  it('states the period, the overall rate and the fully met challenges from the data', () => {
    const text = writeLocalFeedback(doc(challenges));
    expect(text).toContain('2024년 5월 1일부터 2024년 5월 31일까지 챌린지 4개에 참여해 목표 40회 중 30회를 달성했습니다(달성률 75%).');
    expect(text).toContain('그중 1개는 목표를 모두 채웠습니다.');
  });

  it('names the best and the weakest challenge with their numbers, with agreeing particles', () => {
    const text = writeLocalFeedback(doc(challenges));
    expect(text).toContain('가장 잘한 챌린지는 「스쿼트 100개」(운동)로 10회 중 10회(100%)를 해냈습니다.');
    expect(text).toContain('「물 2리터」는 10회 중 3회(30%)로 가장 낮았습니다.');
  });

  it('gives per-category rates, the trend between halves, and a suggestion on the weakest', () => {
    const text = writeLocalFeedback(doc(challenges));
    expect(text).toContain('카테고리별 달성률은 운동 95%, 식단 55%입니다.');
    expect(text).toContain('기간 후반의 달성률(90%)이 전반(60%)보다 높아졌습니다.');
    expect(text).toContain('다음 기간에는 「물 2리터」의 목표를 더 작게 나누어');
  });

  it('reports the longest run of goal-met challenges in date order, whatever the input order', () => {
    const text = writeLocalFeedback(doc([challenges[2], challenges[3], challenges[0], challenges[1]]));
    // By date: 90% (met), 30%, 100% (met), 80% (met): the longest run is 2 and it is the current one.
    expect(text).toContain('목표의 80% 이상을 달성한 챌린지가 2개 연속으로 이어졌습니다. 지금도 이어지고 있습니다.');
  });

  it('says honestly when there is no activity or no measurable goal', () => {
    expect(writeLocalFeedback(doc([]))).toBe('2024년 5월 1일부터 2024년 5월 31일까지 참여한 챌린지가 없습니다. 다음 기간에는 부담 없는 작은 목표 하나로 시작해 보세요.');
    const text = writeLocalFeedback(doc([{ title: '명상', category: '마음', achieved: 0, total: 0 }], false));
    expect(text).toContain('이번 기간에 챌린지 1개에 참여해 목표 0회 중 0회를 달성했습니다.');
    expect(text).toContain('달성률은 계산하지 않았습니다');
  });

  it('suggests raising the goal when everything was met', () => {
    const text = writeLocalFeedback(doc([{ title: '독서', category: '학습', achieved: 5, total: 5 }]));
    expect(text).toContain('모든 챌린지의 목표를 채웠습니다.');
    expect(text).not.toContain('가장 낮았습니다');
  });

  it('uses only numbers present in the input (no invented facts)', () => {
    const text = writeLocalFeedback(doc(challenges));
    const numbers = new Set(text.match(/\d+/g));
    const allowed = new Set(['2024', '5', '1', '31', '4', '40', '30', '75', '10', '100', '9', '90', '3', '2', '95', '55', '60', '80', '8']);
    for (const n of numbers) expect(allowed).toContain(n);
  });
});

describe('josa', () => {
  it.each([
    ['달리기', '은', '는', '달리기는'],
    ['스쿼트', '은', '는', '스쿼트는'],
    ['독서', '을', '를', '독서를'],
    ['「물 2리터」', '은', '는', '「물 2리터」는'],
    ['「스쿼트 100개」', '이', '가', '「스쿼트 100개」가'],
    ['「걷기 3」', '은', '는', '「걷기 3」은'],
    ['「yoga」', '은', '는', '「yoga」은(는)'],
  ])('%s + %s/%s → %s', (word, a, b, expected) => expect(josa(word, a, b)).toBe(expected));
});

describe('LocalFeedbackEngine', () => {
  it('reads the activity message and streams the feedback with usage and its own name', async () => {
    const message = feedbackActivityMessage(doc([{ title: '독서', category: '학습', achieved: 4, total: 5 }]));
    expect(readFeedbackActivity([{ role: 'user', content: 'hi' }, message])?.memberId).toBe('m-1');
    const events = await collect(new LocalFeedbackEngine().generate({ messages: [message, { role: 'user', content: '피드백' }], context: [] }));
    expect(events[0]).toMatchObject({ type: 'delta', text: expect.stringContaining('「독서」') });
    expect(events[1]).toMatchObject({ type: 'done', model: LOCAL_FEEDBACK_MODEL, finishReason: 'stop' });
  });

  it('says it has no data instead of inventing feedback', async () => {
    const events = await collect(new LocalFeedbackEngine().generate({ messages: [{ role: 'system', content: 'ragmesh-feedback-activity/v1\n{not json' }], context: [] }));
    expect(events[0]).toEqual({ type: 'delta', text: LOCAL_FEEDBACK_NO_DATA });
  });

  it('withLocalFeedback sends only local-feedback to the feedback engine', async () => {
    const base: ChatEngine = {
      name: 'local-extractive',
      async *generate() {
        yield { type: 'delta', text: 'extractive' };
      },
      summarize: async () => 'summary',
      listModels: async () => ['local-extractive'],
    };
    const engine = withLocalFeedback(base);
    const message = feedbackActivityMessage(doc([]));
    expect(await collect(engine.generate({ model: 'local-extractive', messages: [message], context: [] }))).toEqual([{ type: 'delta', text: 'extractive' }]);
    expect((await collect(engine.generate({ model: LOCAL_FEEDBACK_MODEL, messages: [message], context: [] })))[0]).toMatchObject({ text: expect.stringContaining('참여한 챌린지가 없습니다') });
    expect(await engine.summarize({ previousSummary: '', messages: [], maxSentences: 3 })).toBe('summary');
    expect(await engine.listModels()).toEqual(['local-extractive', LOCAL_FEEDBACK_MODEL]);
  });
});
