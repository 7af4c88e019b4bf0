import { checkAddress, parseAllowList } from './address-policy';

describe('checkAddress', () => {
  it.each([
    ['10.1.2.3', 'private'],
    ['172.16.0.1', 'private'],
    ['172.31.255.255', 'private'],
    ['192.168.1.1', 'private'],
    ['127.0.0.1', 'loopback'],
    ['127.255.255.254', 'loopback'],
    ['169.254.169.254', 'linkLocal'],
    ['100.64.0.1', 'carrierGradeNat'],
    ['100.127.255.255', 'carrierGradeNat'],
    ['224.0.0.1', 'multicast'],
    ['239.255.255.250', 'multicast'],
    ['0.0.0.0', 'unspecified'],
    ['0.1.2.3', 'unspecified'],
    ['255.255.255.255', 'broadcast'],
    ['192.0.2.1', 'reserved'],
    ['::1', 'loopback'],
    ['::', 'unspecified'],
    ['fe80::1', 'linkLocal'],
    ['fc00::1', 'uniqueLocal'],
    ['fd12:3456::1', 'uniqueLocal'],
    ['ff02::1', 'multicast'],
    ['::ffff:127.0.0.1', 'loopback'],
    ['::ffff:7f00:1', 'loopback'],
    ['::ffff:10.0.0.1', 'private'],
    ['::ffff:169.254.169.254', 'linkLocal'],
    ['::ffff:100.64.0.1', 'carrierGradeNat'],
    ['::127.0.0.1', 'loopback'],
    // The IPv4-compatible form in hex: what the URL parser makes of [::127.0.0.1], or a hostile AAAA record.
    ['::7f00:1', 'loopback'],
    ['::a9fe:a9fe', 'linkLocal'],
    ['::a00:1', 'private'],
    ['2002:7f00:1::1', '6to4'],
    ['2001:0:4136:e378::1', 'teredo'],
    ['64:ff9b::7f00:1', 'rfc6052'],
    ['not-an-ip', 'invalid'],
  ])('refuses %s (%s)', (ip, range) => {
    expect(checkAddress(ip)).toEqual({ allowed: false, range });
  });

  it.each(['8.8.8.8', '93.184.216.34', '1.1.1.1', '2606:4700:4700::1111', '::ffff:8.8.8.8'])('allows the public address %s', (ip) => {
    expect(checkAddress(ip)).toEqual({ allowed: true });
  });

  it('allows a non-public address inside an allow-listed CIDR, and its IPv4-mapped form', () => {
    const allow = parseAllowList('127.0.0.0/8, ::1');
    expect(checkAddress('127.0.0.1', allow)).toEqual({ allowed: true });
    expect(checkAddress('127.3.4.5', allow)).toEqual({ allowed: true });
    expect(checkAddress('::ffff:127.0.0.1', allow)).toEqual({ allowed: true });
    expect(checkAddress('::1', allow)).toEqual({ allowed: true });
    expect(checkAddress('10.0.0.1', allow)).toEqual({ allowed: false, range: 'private' });
    expect(checkAddress('fe80::1', allow)).toEqual({ allowed: false, range: 'linkLocal' });
  });

  it('treats a bare address as a single-address range', () => {
    const allow = parseAllowList(['10.0.0.5']);
    expect(checkAddress('10.0.0.5', allow).allowed).toBe(true);
    expect(checkAddress('10.0.0.6', allow).allowed).toBe(false);
  });
});

describe('parseAllowList', () => {
  it('splits hosts from CIDRs, case-insensitively and ignoring a trailing dot', () => {
    const allow = parseAllowList('Hooks.Internal., 10.20.0.0/16 [::1]');
    expect([...allow.hosts]).toEqual(['hooks.internal']);
    expect(allow.cidrs.map(([address, bits]) => `${address.toString()}/${bits}`)).toEqual(['10.20.0.0/16', '::1/128']);
  });

  it('is empty for an empty string or nothing', () => {
    expect(parseAllowList('').cidrs).toHaveLength(0);
    expect(parseAllowList(undefined).hosts.size).toBe(0);
  });

  it.each(['10.0.0.0/33', 'fe80::/129', 'not a host!', 'http://x'])('names the bad entry %s', (entry) => {
    expect(() => parseAllowList(entry)).toThrow(/allow-list entry/);
  });
});
