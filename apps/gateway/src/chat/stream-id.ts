import { randomBytes, randomUUID } from 'node:crypto';

/** A gateway replica's id: a DNS label (lower-case letters, digits, inner hyphens; at most 63). */
export const REPLICA_ID_PATTERN = /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/;
export const REPLICA_ID_RULE = 'must be lower-case letters, digits and inner hyphens, at most 63 characters (a DNS label)';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
/** The part of a default replica id taken from the host name; the random suffix keeps two processes on one host apart. */
const HOST_PART_MAX = 40;

export interface StreamId {
  /** The whole id, as the client sends it back. */
  id: string;
  /** The replica that holds the stream; undefined for ids minted before replicas were named (plain uuids). */
  owner: string | undefined;
}

/**
 * `<replica id>.<uuid>`: the owner is readable by any replica (so a resume can be forwarded), and
 * the random uuid keeps the id unguessable. Without a replica id, a plain uuid (the old format).
 */
export function newStreamId(replicaId: string | undefined): string {
  return replicaId === undefined ? randomUUID() : `${replicaId}.${randomUUID()}`;
}

/** undefined when `raw` is neither `<replica id>.<uuid>` nor a plain uuid. */
export function parseStreamId(raw: string): StreamId | undefined {
  const dot = raw.indexOf('.');
  if (dot < 0) return UUID.test(raw) ? { id: raw, owner: undefined } : undefined;
  const owner = raw.slice(0, dot);
  return REPLICA_ID_PATTERN.test(owner) && UUID.test(raw.slice(dot + 1)) ? { id: raw, owner } : undefined;
}

/**
 * This host's first name label made into a replica id, plus six random hex digits: readable in
 * logs and in the replica table, and new on every start (a restarted process holds none of the
 * old streams, so its old ids must not reach it).
 */
export function defaultReplicaId(hostname: string, random = randomBytes(3).toString('hex')): string {
  const label = hostname
    .split('.')[0]
    .toLowerCase()
    .replace(/[^a-z0-9-]+/g, '-')
    .slice(0, HOST_PART_MAX)
    .replace(/^-+|-+$/g, '');
  return `${label || 'gateway'}-${random}`;
}
