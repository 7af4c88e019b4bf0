import { hostname } from 'node:os';
import { ValidationFailed } from '../http/api-error';
import { loadAppConfig } from '../config';
import { parseResumeRequest } from './resume-request';
import { defaultReplicaId, newStreamId, parseStreamId, REPLICA_ID_PATTERN } from './stream-id';
import { StreamRegistry } from './stream-registry';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
const OLD_ID = '3f0c1a52-7d4b-4c3e-9a51-2f6f0e8b9c10';

function fieldErrors(fn: () => unknown): unknown {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(ValidationFailed);
    return (err as ValidationFailed).errors;
  }
  throw new Error('expected a ValidationFailed');
}

describe('stream ids', () => {
  it('name the owning replica before a random v4 uuid', () => {
    const id = newStreamId('gw-a1b2c3');
    const [owner, random] = id.split('.');
    expect(owner).toBe('gw-a1b2c3');
    expect(random).toMatch(UUID);
    expect(newStreamId('gw-a1b2c3')).not.toBe(id);
    expect(parseStreamId(id)).toEqual({ id, owner: 'gw-a1b2c3' });
  });

  it('are plain uuids without a replica id, and such old-format ids parse with no owner', () => {
    expect(newStreamId(undefined)).toMatch(UUID);
    expect(parseStreamId(OLD_ID)).toEqual({ id: OLD_ID, owner: undefined });
  });

  it.each([
    ['empty', ''],
    ['not a uuid', 'not-a-uuid'],
    ['a replica but no uuid', 'gw-a1b2c3.'],
    ['a replica and a short uuid', 'gw-a1b2c3.3f0c1a52-7d4b-4c3e-9a51-2f6f0e8b9c1'],
    ['an empty replica', `.${OLD_ID}`],
    ['an upper-case replica', `GW-A.${OLD_ID}`],
    ['a replica with a slash', `gw/a.${OLD_ID}`],
    ['a replica ending in a hyphen', `gw-.${OLD_ID}`],
    ['two dots', `gw.a.${OLD_ID}`],
    ['a 64-character replica', `${'a'.repeat(64)}.${OLD_ID}`],
    ['trailing garbage', `gw-a.${OLD_ID}x`],
  ])('refuse %s', (_what, raw) => {
    expect(parseStreamId(raw)).toBeUndefined();
  });

  it('minted by the registry carry its replica id', () => {
    const registry = new StreamRegistry({ CHAT_RESUME_RETENTION_MS: 1000, CHAT_RESUME_GRACE_MS: 0, CHAT_RESUME_MAX_STREAMS: 10, GATEWAY_REPLICA_ID: 'gw-x' });
    const recording = registry.create('conv', 'tenant');
    expect(parseStreamId(recording.id)?.owner).toBe('gw-x');
    expect(registry.lookup(recording.id, 'tenant')).toEqual({ found: recording });
  });
});

describe('parseResumeRequest', () => {
  it('returns the owner with the id and the event to resume after', () => {
    expect(parseResumeRequest(`gw-a.${OLD_ID}`, ' 7 ')).toEqual({ streamId: `gw-a.${OLD_ID}`, owner: 'gw-a', afterId: 7 });
    expect(parseResumeRequest(OLD_ID, '0')).toEqual({ streamId: OLD_ID, owner: undefined, afterId: 0 });
  });

  it('answers 400 naming stream_id or Last-Event-ID', () => {
    expect(fieldErrors(() => parseResumeRequest('not-a-stream', '1'))).toEqual([{ field: 'stream_id', reason: expect.stringContaining('X-Stream-Id') }]);
    expect(fieldErrors(() => parseResumeRequest(`gw-a.${OLD_ID}`, '-1'))).toEqual([{ field: 'Last-Event-ID', reason: expect.stringContaining('non-negative integer') }]);
  });
});

describe('replica configuration', () => {
  it('defaults the replica id to the host name label plus a random suffix', () => {
    expect(defaultReplicaId('gateway-5d8f7-x2x9q.ragmesh.svc', 'a1b2c3')).toBe('gateway-5d8f7-x2x9q-a1b2c3');
    expect(defaultReplicaId('My_Laptop', 'a1b2c3')).toBe('my-laptop-a1b2c3');
    expect(defaultReplicaId('___', 'a1b2c3')).toBe('gateway-a1b2c3');
    expect(defaultReplicaId(`${'h'.repeat(39)}-tail`, 'a1b2c3')).toBe(`${'h'.repeat(39)}-a1b2c3`);
    for (const host of ['vm', 'ip-10-0-0-7.ec2.internal', '-odd-', 'ä.b']) expect(defaultReplicaId(host)).toMatch(REPLICA_ID_PATTERN);
  });

  it('defaults to a new replica id per process and an internal URL on the host name and gateway port', () => {
    const a = loadAppConfig({ GATEWAY_PORT: '3100' });
    const b = loadAppConfig({ GATEWAY_PORT: '3100' });
    expect(a.GATEWAY_REPLICA_ID).toMatch(REPLICA_ID_PATTERN);
    expect(a.GATEWAY_REPLICA_ID).not.toBe(b.GATEWAY_REPLICA_ID);
    expect(a.GATEWAY_INTERNAL_URL).toBe(`http://${hostname()}:3100`);
    expect(a.GATEWAY_REPLICA_HEARTBEAT_MS).toBe(10_000);
  });

  it('takes explicit values (a trailing slash dropped)', () => {
    const config = loadAppConfig({ GATEWAY_REPLICA_ID: ' gw-1 ', GATEWAY_INTERNAL_URL: 'http://10.0.0.7:3000/', GATEWAY_REPLICA_HEARTBEAT_MS: '500' });
    expect(config).toMatchObject({ GATEWAY_REPLICA_ID: 'gw-1', GATEWAY_INTERNAL_URL: 'http://10.0.0.7:3000', GATEWAY_REPLICA_HEARTBEAT_MS: 500 });
    expect(loadAppConfig({ GATEWAY_REPLICA_ID: '', GATEWAY_INTERNAL_URL: ' ' }).GATEWAY_INTERNAL_URL).toMatch(/^http:\/\//);
  });

  it.each([
    ['GATEWAY_REPLICA_ID', 'Gateway.1', /GATEWAY_REPLICA_ID: must be lower-case letters/],
    ['GATEWAY_REPLICA_ID', 'a'.repeat(64), /GATEWAY_REPLICA_ID: .*DNS label/],
    ['GATEWAY_INTERNAL_URL', 'https://10.0.0.7:3000', /GATEWAY_INTERNAL_URL: must be an http:\/\/ URL/],
    ['GATEWAY_INTERNAL_URL', '10.0.0.7:3000', /GATEWAY_INTERNAL_URL: must be an http:\/\/ URL/],
    ['GATEWAY_INTERNAL_URL', 'http://user:secret@10.0.0.7:3000', /GATEWAY_INTERNAL_URL: must be an http:\/\/ URL/],
    ['GATEWAY_INTERNAL_URL', 'http://10.0.0.7:3000/?x=1', /GATEWAY_INTERNAL_URL: must be an http:\/\/ URL/],
    ['GATEWAY_REPLICA_HEARTBEAT_MS', '50', /GATEWAY_REPLICA_HEARTBEAT_MS: must be >= 100/],
  ])('stops the boot on a bad %s (%s)', (name, value, message) => {
    expect(() => loadAppConfig({ [name]: value })).toThrow(message);
  });

  it('does not echo a bad internal URL, which may carry credentials', () => {
    expect(() => loadAppConfig({ GATEWAY_INTERNAL_URL: 'http://user:secret@10.0.0.7:3000' })).toThrow(
      expect.objectContaining({ message: expect.not.stringContaining('secret') }) as Error,
    );
  });
});
