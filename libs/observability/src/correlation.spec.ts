import { Writable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import { acceptCorrelationId, createLogger, getCorrelationId, runWithCorrelationId } from './index';

describe('correlation ids', () => {
  it('is undefined outside any context', () => {
    expect(getCorrelationId()).toBeUndefined();
  });

  it('propagates through awaits, timers and promise chains', async () => {
    const seen = await runWithCorrelationId('req-1', async () => {
      const ids: (string | undefined)[] = [getCorrelationId()];
      await sleep(5);
      ids.push(getCorrelationId());
      await new Promise<void>((resolve) =>
        setTimeout(() => {
          ids.push(getCorrelationId());
          resolve();
        }, 1),
      );
      ids.push(await Promise.resolve().then(() => getCorrelationId()));
      return ids;
    });
    expect(seen).toEqual(['req-1', 'req-1', 'req-1', 'req-1']);
    expect(getCorrelationId()).toBeUndefined();
  });

  it('keeps concurrent contexts apart', async () => {
    const work = (id: string, delayMs: number) =>
      runWithCorrelationId(id, async () => {
        await sleep(delayMs);
        return getCorrelationId();
      });
    await expect(Promise.all([work('a', 15), work('b', 1), work('c', 8)])).resolves.toEqual(['a', 'b', 'c']);
  });

  it('makes a new uuid when none (or an unusable one) is given', () => {
    const generated = runWithCorrelationId(undefined, () => getCorrelationId());
    expect(generated).toMatch(/^[0-9a-f-]{36}$/);
    const replaced = runWithCorrelationId('bad id\nwith newline', () => getCorrelationId());
    expect(replaced).toMatch(/^[0-9a-f-]{36}$/);
    expect(acceptCorrelationId('x'.repeat(129))).toBeUndefined();
    expect(acceptCorrelationId(['first', 'second'])).toBe('first');
    expect(acceptCorrelationId(Buffer.from('from-buffer'))).toBe('from-buffer');
  });
});

describe('createLogger', () => {
  it('writes JSON lines with service, and correlationId when one is in scope', async () => {
    const lines: string[] = [];
    const sink = new Writable({
      write(chunk: Buffer, _enc, done) {
        lines.push(...chunk.toString('utf8').split('\n').filter(Boolean));
        done();
      },
    });
    const logger = createLogger('retrieval', 'info', sink);
    logger.info('outside');
    await runWithCorrelationId('corr-42', async () => {
      await sleep(1);
      logger.info({ extra: 1 }, 'inside');
    });
    logger.debug('below level');
    const parsed = lines.map((line) => JSON.parse(line) as Record<string, unknown>);
    expect(parsed).toHaveLength(2);
    expect(parsed[0]).toMatchObject({ service: 'retrieval', msg: 'outside', level: 'info' });
    expect(parsed[0]).not.toHaveProperty('correlationId');
    expect(parsed[1]).toMatchObject({ service: 'retrieval', msg: 'inside', correlationId: 'corr-42', extra: 1 });
  });

  it('redacts credentials in request headers', () => {
    const lines: string[] = [];
    const sink = new Writable({
      write(chunk: Buffer, _enc, done) {
        lines.push(chunk.toString('utf8'));
        done();
      },
    });
    createLogger('gateway', 'info', sink).info({ req: { headers: { authorization: 'Bearer sk-secret' } } }, 'req');
    expect(lines.join('')).not.toContain('sk-secret');
    expect(lines.join('')).toContain('[redacted]');
  });
});
