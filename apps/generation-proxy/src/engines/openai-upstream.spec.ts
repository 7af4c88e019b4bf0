import { SseDataParser } from './openai-upstream';

describe('SseDataParser', () => {
  it('returns complete events only, across arbitrary read boundaries', () => {
    const parser = new SseDataParser();
    expect(parser.feed('data: {"a":1}\n\ndata: {"b"')).toEqual(['{"a":1}']);
    expect(parser.feed(':2}\n')).toEqual([]);
    expect(parser.feed('\ndata: [DONE]\n\n')).toEqual(['{"b":2}', '[DONE]']);
  });

  it('reads CRLF line endings, multi-line data, "data:" without a space, and skips comments', () => {
    const parser = new SseDataParser();
    expect(parser.feed(': ping\r\n\r\nevent: x\r\ndata:line1\r\ndata: line2\r\n\r\n')).toEqual(['line1\nline2']);
  });
});
