import type { Response } from 'express';
import { chunk, completion, usageChunk } from './openai-format';
import { SseWriter, sseData, sseError } from './sse';
import { FakeResponse } from '../../test/fake-response';


const meta = { id: 'chatcmpl-1', created: 1700000000, model: 'local-extractive' };

describe('SSE formatting', () => {
  it('writes one JSON object per data line, terminated by a blank line', () => {
    const frame = sseData({ text: 'line one\nline two' });
    expect(frame).toBe('data: {"text":"line one\\nline two"}\n\n');
    expect(frame.split('\n').filter((l) => l.startsWith('data: '))).toHaveLength(1);
    expect(sseData('[DONE]')).toBe('data: [DONE]\n\n');
  });

  it('formats errors the way OpenAI clients read them', () => {
    expect(JSON.parse(sseError('upstream down', 'upstream_error', 503).slice('data: '.length))).toEqual({
      error: { message: 'upstream down', type: 'upstream_error', code: 503 },
    });
  });

  it('builds chat.completion.chunk objects with extras only where given', () => {
    const refs = [{ chunk_id: 'c', document_id: 'd', title: 't', score: 1, text: 'x' }];
    expect(chunk(meta, { role: 'assistant', content: '' }, null, { references: refs, session_id: 's' })).toEqual({
      id: 'chatcmpl-1',
      object: 'chat.completion.chunk',
      created: 1700000000,
      model: 'local-extractive',
      choices: [{ index: 0, delta: { role: 'assistant', content: '' }, finish_reason: null }],
      references: refs,
      session_id: 's',
    });
    expect(chunk(meta, {}, 'stop')).not.toHaveProperty('references');
    const usage = { prompt_tokens: 1, completion_tokens: 2, total_tokens: 3 };
    expect(usageChunk(meta, usage)).toEqual(expect.objectContaining({ choices: [], usage }));
    expect(completion(meta, 'hi', 'stop', usage, refs, 's')).toEqual(
      expect.objectContaining({ object: 'chat.completion', choices: [{ index: 0, message: { role: 'assistant', content: 'hi' }, finish_reason: 'stop' }] }),
    );
  });

  it('SseWriter sets streaming headers once, ends with [DONE], and never writes after the end', () => {
    const res = new FakeResponse();
    const sse = new SseWriter(res as unknown as Response);
    sse.start({ 'x-session-id': 's' });
    sse.start();
    sse.send({ a: 1 });
    sse.done();
    sse.send({ b: 2 });
    sse.fail('late', 'server_error', 500);
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toMatch(/^text\/event-stream/);
    expect(res.headers['x-session-id']).toBe('s');
    expect(res.written).toEqual(['data: {"a":1}\n\n', 'data: [DONE]\n\n']);
  });

  it('SseWriter.start(…, false) leaves the headers to go out with the first event', () => {
    const res = new FakeResponse();
    const flush = jest.spyOn(res, 'flushHeaders');
    new SseWriter(res as unknown as Response).start({}, false);
    expect(flush).not.toHaveBeenCalled();
    expect(res.headers['content-type']).toMatch(/^text\/event-stream/);
    new SseWriter(res as unknown as Response).start();
    expect(flush).toHaveBeenCalledTimes(1);
  });

  it('SseWriter.fail sends an error event and ends the stream', () => {
    const res = new FakeResponse();
    const sse = new SseWriter(res as unknown as Response);
    sse.start();
    sse.fail('boom', 'upstream_error', 503);
    expect(res.written).toEqual([sseError('boom', 'upstream_error', 503)]);
    expect(res.writableEnded).toBe(true);
  });
});
