import ipaddr from 'ipaddr.js';
import { isIP } from 'node:net';

type Address = ipaddr.IPv4 | ipaddr.IPv6;

/** Hosts (exact names, case-insensitive) and CIDR ranges that may be reached although not public. */
export interface AllowList {
  hosts: ReadonlySet<string>;
  cidrs: readonly [Address, number][];
}

export const EMPTY_ALLOW_LIST: AllowList = { hosts: new Set(), cidrs: [] };

/** The only ipaddr.js range reachable without an allow-list entry: globally routable unicast. */
const PUBLIC_RANGE = 'unicast';

export type AddressVerdict = { allowed: true } | { allowed: false; range: string };

/**
 * Parses "10.0.0.0/8, ::1, receiver.internal, 127.0.0.1" (a comma/space separated list or an array):
 * a bare address is its own /32 or /128, anything else must be a host name. Throws naming the bad entry.
 */
export function parseAllowList(entries: string | readonly string[] | undefined): AllowList {
  const list = typeof entries === 'string' ? entries.split(/[\s,]+/) : (entries ?? []);
  const hosts = new Set<string>();
  const cidrs: [Address, number][] = [];
  for (const raw of list) {
    const entry = raw.trim();
    if (!entry) continue;
    if (entry.includes('/')) {
      cidrs.push(parseCidrEntry(entry));
    } else if (isIP(unbracket(entry))) {
      const address = ipaddr.process(unbracket(entry));
      cidrs.push([address, address.kind() === 'ipv4' ? 32 : 128]);
    } else if (/^[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*\.?$/i.test(entry)) {
      hosts.add(normalizeHost(entry));
    } else {
      throw new Error(`allow-list entry "${entry}" is neither a CIDR, an IP address nor a host name`);
    }
  }
  return { hosts, cidrs };
}

function parseCidrEntry(entry: string): [Address, number] {
  try {
    const [address, bits] = ipaddr.parseCIDR(entry);
    // An IPv4 range also covers its IPv4-mapped IPv6 forms, because addresses are unmapped before matching.
    return [address, bits];
  } catch {
    throw new Error(`allow-list entry "${entry}" is not a valid CIDR`);
  }
}

export function isHostAllowListed(host: string, allow: AllowList): boolean {
  return allow.hosts.has(normalizeHost(host));
}

/**
 * Whether a connection to this IP address may be opened. IPv4-mapped IPv6 (::ffff:127.0.0.1) is judged
 * (and the deprecated IPv4-compatible ::127.0.0.1) is judged as the IPv4 address it carries; everything but global unicast (private, loopback, link-local, CGNAT,
 * multicast, unspecified, broadcast, reserved, unique-local, 6to4/Teredo/NAT64 tunnels…) is refused
 * unless an allow-listed CIDR contains it.
 */
export function checkAddress(ip: string, allow: AllowList = EMPTY_ALLOW_LIST): AddressVerdict {
  if (!ipaddr.isValid(ip)) return { allowed: false, range: 'invalid' };
  const address = withEmbeddedIpv4(ipaddr.process(ip));
  if (allow.cidrs.some(([range, bits]) => range.kind() === address.kind() && address.match(range, bits))) return { allowed: true };
  const range = address.range();
  return range === PUBLIC_RANGE ? { allowed: true } : { allowed: false, range };
}

/**
 * ipaddr.js unwraps only ::ffff:a.b.c.d. The deprecated IPv4-compatible form (::/96) — what the URL
 * parser makes of http://[::127.0.0.1]/ (it becomes [::7f00:1]) and what a hostile AAAA record can
 * hold (::a9fe:a9fe) — reaches the IPv4 address wherever the kernel routes ::/96, so it is judged
 * as that address too. `::` and `::1` keep their own meaning.
 */
function withEmbeddedIpv4(address: ipaddr.IPv4 | ipaddr.IPv6): ipaddr.IPv4 | ipaddr.IPv6 {
  if (address.kind() !== 'ipv6') return address;
  const parts = (address as ipaddr.IPv6).parts;
  if (parts.slice(0, 6).some((p) => p !== 0) || (parts[6] === 0 && parts[7] <= 1)) return address;
  return new ipaddr.IPv4([parts[6] >> 8, parts[6] & 0xff, parts[7] >> 8, parts[7] & 0xff]);
}

export function unbracket(host: string): string {
  return host.startsWith('[') && host.endsWith(']') ? host.slice(1, -1) : host;
}

function normalizeHost(host: string): string {
  return host.toLowerCase().replace(/\.$/, '');
}
