import { type ChildProcess, spawn } from 'node:child_process';
import { join } from 'node:path';
import { createParser, type EventSourceMessage } from 'eventsource-parser';
import { DIST, ensureBuilt, ROOT } from './harness';

/*
 * What the chat-stream e2e specs share: the fake vLLM upstream (tools/fake-openai) as a process
 * of its own, and reading a named-event SSE response.
 */

export interface FakeStats {
  requests: number;
  aborted: number;
  active: number;
  completed: number;
}

/** The fake's answer: `tok1 tok2 … tokN`, one token per chunk. */
export const fakeAnswer = (replyTokens: number): string => Array.from({ length: replyTokens }, (_, i) => `${i === 0 ? '' : ' '}tok${i + 1}`).join('');

/** Starts the fake upstream from the compiled tree (built first when missing) on a free port. */
export function startFakeProcess(opts: { tokenDelayMs: number; replyTokens: number }): Promise<{ child: ChildProcess; url: string }> {
  ensureBuilt();
  const child = spawn(process.execPath, ['-r', join(ROOT, 'scripts', 'register-paths.js'), join(DIST, 'tools', 'fake-openai', 'src', 'main.js')], {
    cwd: ROOT,
    env: { ...process.env, RAGMESH_DIST: DIST, PORT: '0', HOST: '127.0.0.1', TOKEN_DELAY_MS: String(opts.tokenDelayMs), REPLY_TOKENS: String(opts.replyTokens) },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  return new Promise((resolve, reject) => {
    let out = '';
    child.once('exit', (code) => reject(new Error(`fake-openai exited with ${code}: ${out}`)));
    child.stdout?.on('data', (data: Buffer) => {
      out += data.toString();
      const match = /"port":(\d+)/.exec(out);
      if (match) resolve({ child, url: `http://127.0.0.1:${match[1]}` });
    });
  });
}

export const fakeStatsAt = async (fakeUrl: string): Promise<FakeStats> => (await fetch(`${fakeUrl}/fake/stats`)).json() as Promise<FakeStats>;

/** Reads SSE events until the stream ends, or until `stop` says enough (then the connection is dropped). */
export async function readEvents(res: Response, abort?: AbortController, stop?: (events: EventSourceMessage[]) => boolean): Promise<EventSourceMessage[]> {
  const events: EventSourceMessage[] = [];
  const parser = createParser({ onEvent: (e) => events.push(e) });
  const reader = res.body!.getReader();
  const decoder = new TextDecoder();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) return events;
    parser.feed(decoder.decode(value, { stream: true }));
    if (stop?.(events)) {
      abort?.abort();
      await reader.cancel().catch(() => undefined);
      return events;
    }
  }
}

/** The text of the `token` events, joined. */
export const tokenText = (events: EventSourceMessage[]): string =>
  events
    .filter((e) => e.event === 'token')
    .map((e) => (JSON.parse(e.data) as { text: string }).text)
    .join('');
