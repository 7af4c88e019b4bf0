import type { GenerateEvent, GenerateInput } from '@ragmesh/llm';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { waitFor } from '@ragmesh/testing';
import { OpenAiUpstream, SseDataParser } from './openai-upstream';

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

describe('OpenAiUpstream streaming', () => {
  let server: Server;
  let connections = 0;
  let aborted = 0;
  let mode: 'complete' | 'endless' | 'cut' = 'complete';
  let engine: OpenAiUpstream;

  const chunkOf = (content: string) => `data: {"model":"m","choices":[{"index":0,"delta":{"content":${JSON.stringify(content)}},"finish_reason":null}]}\n\n`;

  beforeAll(async () => {
    server = createServer((req, res) => {
      req.resume();
      req.on('end', () => {
        res.writeHead(200, { 'Content-Type': 'text/event-stream' });
        res.on('close', () => {
          if (!res.writableFinished) aborted++;
        });
        res.write(chunkOf('Hello'));
        if (mode === 'endless') return void setInterval(() => res.write(chunkOf(' more')), 5).unref();
        if (mode === 'cut') return void setTimeout(() => res.socket?.destroy(), 10);
        res.write(chunkOf(' world'));
        res.write('data: {"choices":[{"index":0,"delta":{},"finish_reason":"stop"}],"usage":{"prompt_tokens":3,"completion_tokens":2,"total_tokens":5}}\n\n');
        res.end('data: [DONE]\n\n');
      });
    });
    server.on('connection', () => connections++);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    engine = new OpenAiUpstream({ baseUrl: `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1`, defaultModel: 'm', timeoutMs: 5_000 });
  });

  afterAll(async () => {
    engine.close();
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });

  const ask = () => engine.generate({ messages: [{ role: 'user', content: 'hi' }], context: [] } satisfies GenerateInput);

  it('streams the deltas and the final event, and reuses the keep-alive connection for the next answer', async () => {
    mode = 'complete';
    const before = connections;
    for (let i = 0; i < 3; i++) {
      const events: GenerateEvent[] = [];
      for await (const event of ask()) events.push(event);
      // Deltas that arrive in one read leave as one: only the text and the final event are fixed.
      const text = events.map((e) => (e.type === 'delta' ? e.text : '')).join('');
      expect(text).toBe('Hello world');
      expect(events.at(-1)).toEqual({ type: 'done', finishReason: 'stop', usage: { promptTokens: 3, completionTokens: 2, totalTokens: 5 }, model: 'm' });
    }
    expect(connections - before).toBe(1);
  });

  it('stops the upstream request when the consumer stops early', async () => {
    mode = 'endless';
    const before = aborted;
    for await (const event of ask()) {
      expect(event).toEqual({ type: 'delta', text: 'Hello' });
      break;
    }
    await waitFor('the upstream response to close', () => (aborted > before ? true : undefined), 2_000);
  });

  it('fails when the upstream connection drops mid-answer', async () => {
    mode = 'cut';
    const events: GenerateEvent[] = [];
    await expect(
      (async () => {
        for await (const event of ask()) events.push(event);
      })(),
    ).rejects.toThrow();
    expect(events).toEqual([{ type: 'delta', text: 'Hello' }]);
  });
});

