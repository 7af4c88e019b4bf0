import { limitSentences } from './summary-guard';

describe('limitSentences', () => {
  it('keeps the first sentences up to the limit, English and Korean alike', () => {
    expect(limitSentences('사용자가 환불을 문의했다. 상담원이 정책을 설명했다. 기한은 14일이다. 추가 질문은 없었다.', 3)).toBe(
      '사용자가 환불을 문의했다. 상담원이 정책을 설명했다. 기한은 14일이다.',
    );
    expect(limitSentences('A.\nB.\nC.\nD.', 2)).toBe('A. B.');
  });

  it('leaves a short summary as it is', () => {
    expect(limitSentences('Dr. Kim explained the 3.5% fee.', 3)).toBe('Dr. Kim explained the 3.5% fee.');
  });

  it('returns empty text for blank input', () => {
    expect(limitSentences('  \n ', 3)).toBe('');
  });
});
