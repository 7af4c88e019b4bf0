import { buildRagMessages, DEFAULT_PERSONA } from './index';

describe('buildRagMessages', () => {
  it('puts persona, citation instruction and numbered context in one system message before the conversation', () => {
    const messages = buildRagMessages({
      persona: '당신은 여행 도우미입니다.',
      messages: [
        { role: 'system', content: 'Be brief.' },
        { role: 'user', content: '서울 날씨?' },
        { role: 'assistant', content: '맑아요 [1]' },
        { role: 'user', content: '내일은?' },
      ],
      context: [
        { chunkId: 'a', title: '날씨', text: '서울은 맑다.', score: 1 },
        { chunkId: 'b', title: '예보', text: '내일은 비.', score: 0.5 },
      ],
    });
    expect(messages.map((m) => m.role)).toEqual(['system', 'user', 'assistant', 'user']);
    const system = messages[0].content;
    expect(system.startsWith('당신은 여행 도우미입니다.')).toBe(true);
    expect(system).toContain('Be brief.');
    expect(system).toContain('[1] 날씨\n서울은 맑다.');
    expect(system).toContain('[2] 예보\n내일은 비.');
    expect(system).toMatch(/cite/i);
    expect(system).toMatch(/same language as the question/i);
    expect(messages[3].content).toBe('내일은?');
  });

  it('uses the default persona and no context section without context', () => {
    const [system] = buildRagMessages({ messages: [{ role: 'user', content: 'hi' }], context: [] });
    expect(system.content.startsWith(DEFAULT_PERSONA)).toBe(true);
    expect(system.content).not.toContain('Context:');
  });
});
