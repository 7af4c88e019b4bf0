import { addMonths, DEFAULT_RECENT_MONTHS, parseTimeExpression, withoutTimeExpression } from './time-expressions';

// A Monday in the fourth quarter, second half of 2026.
const NOW = new Date('2026-11-23T12:00:00.000Z');
const iso = (d: Date) => d.toISOString().slice(0, 10);

function read(text: string, now = NOW) {
  const e = parseTimeExpression(text, now);
  return e && { start: iso(e.start), end: iso(e.end), months: e.months, kind: e.kind, anchor: iso(e.anchor), text: e.text };
}

describe('parseTimeExpression: Korean', () => {
  it.each([
    ['최근 3개월 매출', '2026-08-23', '2026-11-23', 3],
    ['지난 6개월간 공지', '2026-05-23', '2026-11-23', 6],
    ['최근 1년 동안의 변화', '2025-11-23', '2026-11-23', 12],
    ['과거 2년 자료', '2024-11-23', '2026-11-23', 24],
    ['최근 한 달 사이', '2026-10-23', '2026-11-23', 1],
    ['지난 세 달 동안', '2026-08-23', '2026-11-23', 3],
    ['최근 2주 공지', '2026-11-09', '2026-11-23', 1],
    ['최근 10일', '2026-11-13', '2026-11-23', 1],
    ['지난 2분기', '2026-05-23', '2026-11-23', 6],
    ['3개월간 변동', '2026-08-23', '2026-11-23', 3],
    ['최근 반년', '2026-05-23', '2026-11-23', 6],
  ])('%s is a rolling window ending now', (text, start, end, months) => {
    expect(read(text)).toMatchObject({ start, end, months, kind: 'rolling', anchor: end });
  });

  it.each([
    ['지난달 매출', '2026-10-01', '2026-11-01', 1],
    ['지난 달 회의록', '2026-10-01', '2026-11-01', 1],
    ['이번 달 일정', '2026-11-01', '2026-12-01', 1],
    ['이달의 공지', '2026-11-01', '2026-12-01', 1],
    ['작년 실적', '2025-01-01', '2026-01-01', 12],
    ['지난해 보고서', '2025-01-01', '2026-01-01', 12],
    ['재작년 자료', '2024-01-01', '2025-01-01', 12],
    ['올해 계획', '2026-01-01', '2027-01-01', 12],
    ['금년 예산', '2026-01-01', '2027-01-01', 12],
    ['2023년 자료', '2023-01-01', '2024-01-01', 12],
    ['2023년도 결산', '2023-01-01', '2024-01-01', 12],
    ['2023년 상반기 매출', '2023-01-01', '2023-07-01', 6],
    ['2023년 하반기', '2023-07-01', '2024-01-01', 6],
    ['2023년 3분기 실적', '2023-07-01', '2023-10-01', 3],
    ['2023년 1/4분기', '2023-01-01', '2023-04-01', 3],
    ['2024년 5월 회의', '2024-05-01', '2024-06-01', 1],
    ['2024년 12월', '2024-12-01', '2025-01-01', 1],
    ['작년 상반기', '2025-01-01', '2025-07-01', 6],
    ['작년 4분기', '2025-10-01', '2026-01-01', 3],
    ['올해 1분기', '2026-01-01', '2026-04-01', 3],
    ['23년 하반기', '2023-07-01', '2024-01-01', 6],
    ['지난 분기 실적', '2026-07-01', '2026-10-01', 3],
    ['이번 분기', '2026-10-01', '2027-01-01', 3],
    ['지난주 회의', '2026-11-16', '2026-11-23', 1],
    ['이번 주 공지', '2026-11-23', '2026-11-30', 1],
    ['어제 뉴스', '2026-11-22', '2026-11-23', 1],
  ])('%s is a calendar period', (text, start, end, months) => {
    expect(read(text)).toMatchObject({ start, end, months, kind: 'calendar', anchor: end });
  });

  it('a period without a year is the latest one that has begun', () => {
    expect(read('3분기 실적')).toMatchObject({ start: '2026-07-01', end: '2026-10-01' });
    expect(read('상반기 결산')).toMatchObject({ start: '2026-01-01', end: '2026-07-01' });
    expect(read('12월 행사')).toMatchObject({ start: '2025-12-01', end: '2026-01-01' });
    expect(read('4분기', new Date('2026-03-10T00:00:00Z'))).toMatchObject({ start: '2025-10-01', end: '2026-01-01' });
    expect(read('하반기 계획', new Date('2026-03-10T00:00:00Z'))).toMatchObject({ start: '2025-07-01', end: '2026-01-01' });
  });

  it('부터 / 이후 turn a period into a window from its start to now', () => {
    expect(read('2024년부터 바뀐 규정')).toMatchObject({ start: '2024-01-01', end: '2026-11-23', kind: 'rolling', months: 35 });
    expect(read('2025년 3월 이후 공지')).toMatchObject({ start: '2025-03-01', end: '2026-11-23', kind: 'rolling' });
  });

  it('a bare recency word is the default recent window', () => {
    expect(read('최근 공지사항')).toMatchObject({ start: '2026-08-23', end: '2026-11-23', months: DEFAULT_RECENT_MONTHS });
    expect(read('요즘 인기 있는 숙소')).toMatchObject({ months: DEFAULT_RECENT_MONTHS, kind: 'rolling' });
  });

  it('the longest expression wins over the words inside it', () => {
    expect(read('최근 3개월')?.text).toBe('최근 3개월');
    expect(read('재작년 하반기')).toMatchObject({ start: '2024-07-01', end: '2025-01-01' });
    expect(read('작년 3분기 실적 보고서')?.text).toBe('작년 3분기');
  });

  it('does not read time into words that only contain the syllables', () => {
    expect(read('현금 주고 받기')).toBeUndefined();
    expect(read('같이 달리기')).toBeUndefined();
    expect(read('서울의 인구는?')).toBeUndefined();
    expect(read('필요 3개월')).toBeUndefined();
    expect(read('방이 3개 있나요')).toBeUndefined();
    expect(read('10년 전 사진')).toBeUndefined();
  });
});

describe('parseTimeExpression: English', () => {
  it.each([
    ['revenue over the last 6 months', '2026-05-23', '2026-11-23', 6],
    ['the past two years', '2024-11-23', '2026-11-23', 24],
    ['in the last 3 weeks', '2026-11-02', '2026-11-23', 1],
    ['last 30 days', '2026-10-24', '2026-11-23', 1],
    ['past year of incidents', '2025-11-23', '2026-11-23', 12],
    ['over the past few months', '2026-08-23', '2026-11-23', 3],
    ['year to date sales', '2026-01-01', '2026-11-23', 11],
    ['since 2024', '2024-01-01', '2026-11-23', 35],
    ['since Q2 2026', '2026-04-01', '2026-11-23', 8],
  ])('%s is a rolling window', (text, start, end, months) => {
    expect(read(text)).toMatchObject({ start, end, months, kind: 'rolling' });
  });

  it.each([
    ['sales last quarter', '2026-07-01', '2026-10-01', 3],
    ['previous quarter', '2026-07-01', '2026-10-01', 3],
    ['this quarter', '2026-10-01', '2027-01-01', 3],
    ['last month', '2026-10-01', '2026-11-01', 1],
    ['this month', '2026-11-01', '2026-12-01', 1],
    ['last year', '2025-01-01', '2026-01-01', 12],
    ['this year', '2026-01-01', '2027-01-01', 12],
    ['the year before last', '2024-01-01', '2025-01-01', 12],
    ['last week', '2026-11-16', '2026-11-23', 1],
    ['in 2023', '2023-01-01', '2024-01-01', 12],
    ['Q3 2023 results', '2023-07-01', '2023-10-01', 3],
    ['2023 Q4', '2023-10-01', '2024-01-01', 3],
    ['the third quarter of 2024', '2024-07-01', '2024-10-01', 3],
    ['Q2 of last year', '2025-04-01', '2025-07-01', 3],
    ['H1 2023', '2023-01-01', '2023-07-01', 6],
    ['the second half of 2022', '2022-07-01', '2023-01-01', 6],
    ['first half of this year', '2026-01-01', '2026-07-01', 6],
    ['March 2024 minutes', '2024-03-01', '2024-04-01', 1],
    ['Sept 2025', '2025-09-01', '2025-10-01', 1],
    ['what happened in May', '2026-05-01', '2026-06-01', 1],
    ['Q4 (in progress)', '2026-10-01', '2027-01-01', 3],
    ['Q1', '2026-01-01', '2026-04-01', 3],
  ])('%s is a calendar period', (text, start, end, months) => {
    expect(read(text)).toMatchObject({ start, end, months, kind: 'calendar' });
  });

  it('recency words are the default window', () => {
    expect(read('recent announcements')).toMatchObject({ months: DEFAULT_RECENT_MONTHS, kind: 'rolling' });
    expect(read('what changed lately')).toMatchObject({ months: DEFAULT_RECENT_MONTHS });
  });

  it('does not mistake verbs, nouns and bare numbers for dates', () => {
    expect(read('May I ask a question?')).toBeUndefined();
    expect(read('how big is the market')).toBeUndefined();
    expect(read('order 2023 units')).toBeUndefined();
    expect(read('the third half')).toBeUndefined();
    expect(read('what is the capital of Korea')).toBeUndefined();
  });
});

describe('withoutTimeExpression', () => {
  it('removes the expression with its particles and prepositions', () => {
    const ko = '작년 상반기에 출시된 제품';
    expect(withoutTimeExpression(ko, parseTimeExpression(ko, NOW)!)).toBe('출시된 제품');
    const en = 'revenue over the last 6 months by region';
    expect(withoutTimeExpression(en, parseTimeExpression(en, NOW)!)).toBe('revenue by region');
    const question = 'What changed last quarter?';
    expect(withoutTimeExpression(question, parseTimeExpression(question, NOW)!)).toBe('What changed?');
  });

  it('keeps the text when nothing but the expression was asked', () => {
    expect(withoutTimeExpression('최근 3개월', parseTimeExpression('최근 3개월', NOW)!)).toBe('최근 3개월');
  });
});

describe('addMonths', () => {
  it('clamps the day to the end of a shorter month', () => {
    expect(iso(addMonths(new Date('2026-03-31T00:00:00Z'), -1))).toBe('2026-02-28');
    expect(iso(addMonths(new Date('2024-03-31T00:00:00Z'), -1))).toBe('2024-02-29');
    expect(iso(addMonths(new Date('2026-01-15T00:00:00Z'), -13))).toBe('2024-12-15');
  });
});
