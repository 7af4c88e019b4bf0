import { chunkText, countTokens } from './index';

const sentence = (i: number) => `문장 ${i}번은 청크 테스트를 위한 예시입니다.`;

describe('chunkText', () => {
  it('returns no chunks for empty or blank input', () => {
    expect(chunkText('')).toEqual([]);
    expect(chunkText('  \n\n \t')).toEqual([]);
    expect(chunkText('# Only a heading\n\n## Another')).toEqual([]);
  });

  it('keeps a short text in one chunk with defaults', () => {
    const chunks = chunkText('서울은 맑다. 부산은 흐리다.');
    expect(chunks).toEqual([{ index: 0, text: '서울은 맑다. 부산은 흐리다.', tokenCount: countTokens('서울은 맑다. 부산은 흐리다.') }]);
  });

  it('never exceeds maxTokens and overlaps consecutive chunks by whole trailing sentences', () => {
    const text = Array.from({ length: 40 }, (_, i) => sentence(i)).join(' ');
    const chunks = chunkText(text, { maxTokens: 60, overlapTokens: 20 });
    expect(chunks.length).toBeGreaterThan(3);
    chunks.forEach((c, i) => {
      expect(c.index).toBe(i);
      expect(c.tokenCount).toBeLessThanOrEqual(60);
      expect(c.tokenCount).toBe(countTokens(c.text));
    });
    for (let i = 1; i < chunks.length; i++) {
      const lastOfPrevious = chunks[i - 1].text.split(/(?<=\.) /u).pop() as string;
      expect(chunks[i].text.startsWith(lastOfPrevious)).toBe(true);
    }
    // Every sentence survives somewhere.
    for (let i = 0; i < 40; i++) expect(chunks.some((c) => c.text.includes(sentence(i)))).toBe(true);
  });

  it('without overlap, chunks partition the sentences', () => {
    const text = Array.from({ length: 20 }, (_, i) => sentence(i)).join(' ');
    const chunks = chunkText(text, { maxTokens: 50, overlapTokens: 0 });
    expect(chunks.map((c) => c.text).join(' ')).toBe(text);
  });

  it('carries the current heading and never mixes sections', () => {
    const md = ['# 소개', '', sentence(1), '', '## 설치 방법', '', sentence(2), sentence(3), '', '## FAQ ##', '', 'Short answer.'].join('\n');
    const chunks = chunkText(md, { maxTokens: 200, overlapTokens: 40 });
    expect(chunks.map((c) => [c.heading, c.text])).toEqual([
      ['소개', sentence(1)],
      ['설치 방법', sentence(2) + '\n' + sentence(3)],
      ['FAQ', 'Short answer.'],
    ]);
  });

  it('treats # as text in plain-text format and inside code fences', () => {
    expect(chunkText('# not a heading\nbody', { format: 'text' })[0]).toMatchObject({ text: '# not a heading\nbody' });
    const md = '# Title\n\n```sh\n# comment\n\nrun it\n```';
    const [chunk] = chunkText(md);
    expect(chunk.heading).toBe('Title');
    expect(chunk.text).toContain('# comment');
  });

  it('prefers a paragraph boundary over filling the chunk', () => {
    const p1 = Array.from({ length: 4 }, (_, i) => sentence(i)).join(' ');
    const p2 = Array.from({ length: 4 }, (_, i) => sentence(10 + i)).join(' ');
    const chunks = chunkText(`${p1}\n\n${p2}`, { maxTokens: 80, overlapTokens: 0 });
    expect(countTokens(p1)).toBeLessThanOrEqual(80);
    expect(chunks[0].text).toBe(p1);
    expect(chunks[1].text).toBe(p2);
  });

  it('splits a sentence longer than maxTokens (even one without spaces)', () => {
    const long = '가'.repeat(300);
    const chunks = chunkText(long, { maxTokens: 50, overlapTokens: 0 });
    expect(chunks.map((c) => c.text).join('')).toBe(long);
    chunks.forEach((c) => expect(c.tokenCount).toBeLessThanOrEqual(50));
  });

  it('rejects impossible options with the option name', () => {
    expect(() => chunkText('x', { maxTokens: 0 })).toThrow(/maxTokens/);
    expect(() => chunkText('x', { maxTokens: 10, overlapTokens: 10 })).toThrow(/overlapTokens/);
    expect(() => chunkText('x', { maxTokens: 10, overlapTokens: -1 })).toThrow(/overlapTokens/);
  });
});
