import * as grpc from '@grpc/grpc-js';
import { HttpStatus } from '@nestjs/common';
import { beforeStartError, retryAfterSeconds } from './chat-errors';
import { extractKeywords, fromLlmRewrite, hasTableIntent, parseLlmRewrite, ruleBasedRewrite, searchText } from './query-rewrite';
import { FakeResponse } from '../../test/fake-response';
import type { Response } from 'express';

const NOW = new Date('2026-11-23T12:00:00.000Z');

describe('rule-based query rewrite', () => {
  it('takes the time expression out of the query and into the time range', () => {
    expect(ruleBasedRewrite('2023년 상반기 매출 현황 알려줘', NOW)).toEqual({
      query: '매출 현황 알려줘',
      keywords: ['매출', '현황'],
      tableIntent: true,
      timeRange: { start: '2023-01-01T00:00:00.000Z', end: '2023-07-01T00:00:00.000Z', months: 6, expression: '2023년 상반기' },
      source: 'rules',
      attempts: 0,
    });
    expect(ruleBasedRewrite('What changed in our refund policy last quarter?', NOW)).toMatchObject({
      query: 'What changed in our refund policy?',
      keywords: ['changed', 'refund', 'policy'],
      timeRange: { months: 3, end: '2026-10-01T00:00:00.000Z' },
    });
  });

  it('leaves a question without a time expression as it is', () => {
    const r = ruleBasedRewrite('서울의 인구는?', NOW);
    expect(r.query).toBe('서울의 인구는?');
    expect(r.timeRange).toBeUndefined();
    expect(r.keywords).toEqual(['서울', '인구']);
  });

  it('recognises table intent in Korean and English', () => {
    expect(hasTableIntent('지역별 매출을 표로 정리해줘')).toBe(true);
    expect(hasTableIntent('환불은 몇 건인가요')).toBe(true);
    expect(hasTableIntent('how many rooms have a balcony')).toBe(true);
    expect(hasTableIntent('compare plan A and plan B')).toBe(true);
    expect(hasTableIntent('서울은 어떤 도시인가요')).toBe(false);
    expect(hasTableIntent('tell me about the museum')).toBe(false);
  });

  it('keeps content words: particles stripped, endings and stopwords dropped, no duplicates', () => {
    expect(extractKeywords('숙소의 체크인 시간은 언제인가요? 숙소 주차는 되나요')).toEqual(['숙소', '체크인', '시간', '주차']);
    expect(extractKeywords('What is the check-in time for the hotel?')).toEqual(['check-in', 'time', 'hotel']);
  });
});

describe('LLM rewrite parsing', () => {
  it('reads the JSON object out of fences and prose', () => {
    const parsed = parseLlmRewrite('Here you go:\n```json\n{"query":"refund policy","keywords":["refund"],"table_intent":false,"time_range":null}\n```');
    expect(parsed).toEqual({ ok: true, value: { query: 'refund policy', keywords: ['refund'], table_intent: false, time_range: null } });
  });

  it('names what is wrong with an unusable answer', () => {
    expect(parseLlmRewrite('no idea')).toEqual({ ok: false, reason: 'no JSON object in the answer' });
    expect(parseLlmRewrite('{"query": 1}')).toMatchObject({ ok: false, reason: expect.stringContaining('query') });
    expect(parseLlmRewrite('{"query": "q", "time_range": {"start": "2024-13-45", "end": "2024-01-01"}}')).toMatchObject({ ok: false });
    expect(parseLlmRewrite('{"query": "q", "time_range": {"start": "2024-05-01", "end": "2024-01-01"}}')).toMatchObject({
      ok: false,
      reason: expect.stringContaining('start must be before end'),
    });
    expect(parseLlmRewrite('{"query": "q", "extra": true}')).toMatchObject({ ok: false });
  });

  it('turns the time range into the months back from its end', () => {
    const r = fromLlmRewrite({ query: 'q', keywords: ['k'], table_intent: false, time_range: { start: '2025-01-01', end: '2026-01-01' } }, 'q', 1);
    expect(r.timeRange).toEqual({ start: '2025-01-01T00:00:00.000Z', end: '2026-01-01T00:00:00.000Z', months: 12 });
  });

  it('searches with the query plus the keywords it lacks', () => {
    expect(searchText({ query: 'refund policy', keywords: ['Refund', 'deadline'], tableIntent: false, source: 'llm', attempts: 1 })).toBe('refund policy deadline');
  });
});

describe('chat errors before the answer starts', () => {
  const grpcError = (code: grpc.status, details: string, retryAfterMs?: string) => {
    const metadata = new grpc.Metadata();
    if (retryAfterMs !== undefined) metadata.set('retry-after-ms', retryAfterMs);
    return Object.assign(new Error(details), { code, details, metadata });
  };

  it("maps the proxy's queue-full to 429 with Retry-After from retry-after-ms, rounded up", () => {
    const res = new FakeResponse();
    const err = grpcError(grpc.status.RESOURCE_EXHAUSTED, 'queue full', '1500');
    expect(beforeStartError(err, res as unknown as Response)).toBe(err);
    expect(res.headers['retry-after']).toBe('2');
    expect(retryAfterSeconds(grpcError(grpc.status.RESOURCE_EXHAUSTED, 'x', '100'))).toBe(1);
    expect(retryAfterSeconds(grpcError(grpc.status.RESOURCE_EXHAUSTED, 'x'))).toBe(1);
    expect(retryAfterSeconds(grpcError(grpc.status.RESOURCE_EXHAUSTED, 'x', 'soon'))).toBe(1);
  });

  it('maps images for a model without a multimodal upstream to 422 with the reason', () => {
    const mapped = beforeStartError(grpcError(grpc.status.FAILED_PRECONDITION, 'model qwen has no multimodal upstream'), new FakeResponse() as unknown as Response);
    expect(mapped).toMatchObject({ message: 'model qwen has no multimodal upstream' });
    expect((mapped as { getStatus(): number }).getStatus()).toBe(HttpStatus.UNPROCESSABLE_ENTITY);
  });
});
