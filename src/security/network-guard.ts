import { lookup as dnsLookup, type LookupAddress } from 'node:dns';
import ipaddr from 'ipaddr.js';

/**
 * Refuses loopback, private, link-local, CGNAT, cloud-metadata and every other non-public
 * range, also when an IPv6 address embeds such an IPv4 address. It runs inside the HTTP
 * client's own DNS lookup, so the address that was checked is the address connected to (no
 * DNS-rebinding window).
 */

/** What was refused: kept for the operator's log, never shown to API clients. */
export interface Refusal {
  host: string;
  address: string;
  /** ipaddr.js's range name, e.g. `loopback`, or `private (IPv4 10.0.0.1 in 64:ff9b::a00:1)`. */
  range: string;
}

/**
 * Says only that the name is not public. Naming the address or its range would let any API
 * client map internal DNS through the broadcast test ("db.internal resolves to 10.0.3.7").
 */
export function refusalMessage(host: string): string {
  return `${host} resolves to a non-public address; deliveries to non-public networks are refused`;
}

export class BlockedAddressError extends Error {
  readonly code = 'HERALD_BLOCKED_ADDRESS';

  constructor(readonly refusal: Refusal) {
    super(refusalMessage(refusal.host));
  }
}

/** NAT64's well-known prefix 64:ff9b::/96 (RFC 6052): the last 32 bits are the IPv4 address. */
const NAT64 = ipaddr.parseCIDR('64:ff9b::/96');

/** The IPv4 address an IPv6 address carries, in the forms ipaddr.js knows. */
function embeddedIPv4(v6: ipaddr.IPv6): ipaddr.IPv4 | undefined {
  const bytes = v6.toByteArray();
  const last32 = () => new ipaddr.IPv4(bytes.slice(12, 16));
  const range = v6.range();
  if (range === 'ipv4Mapped' || range === 'rfc6145') return last32(); // ::ffff:a.b.c.d, ::ffff:0:a.b.c.d
  if (v6.match(NAT64)) return last32();
  if (range === '6to4') return new ipaddr.IPv4(bytes.slice(2, 6)); // 2002:AABB:CCDD::/48
  // IPv4-compatible ::a.b.c.d (deprecated, still routed by some stacks); ipaddr.js calls it unicast.
  if (bytes.slice(0, 12).every((b) => b === 0)) return last32();
  return undefined;
}

/** Why an address is refused (its range), or undefined when it is public. */
export function blockedRange(address: string): string | undefined {
  if (!ipaddr.isValid(address)) return 'not an IP address';
  const parsed = ipaddr.parse(address);
  if (parsed.kind() === 'ipv4') {
    const range = parsed.range();
    return range === 'unicast' ? undefined : range;
  }
  const v6 = parsed as ipaddr.IPv6;
  const range = v6.range();
  // :: and ::1 fall inside ::/96 as well; they are refused as what they are.
  if (range === 'unspecified' || range === 'loopback') return range;
  const v4 = embeddedIPv4(v6);
  if (v4) {
    const inner = v4.range();
    return inner === 'unicast' ? undefined : `${inner} (IPv4 ${v4.toString()} in ${address})`;
  }
  return range === 'unicast' ? undefined : range;
}

type LookupCallback = (err: NodeJS.ErrnoException | null, address: string | LookupAddress[], family?: number) => void;

export function guardedLookup(
  hostname: string,
  options: { all?: boolean; family?: number | string },
  callback: LookupCallback,
): void {
  dnsLookup(hostname, { all: true, family: options.family as number | undefined }, (err, addresses) => {
    if (err) return callback(err, []);
    for (const entry of addresses) {
      const range = blockedRange(entry.address);
      if (range) return callback(new BlockedAddressError({ host: hostname, address: entry.address, range }), []);
    }
    if (options.all) return callback(null, addresses);
    const first = addresses[0];
    if (!first) return callback(new Error(`${hostname} has no address`), []);
    callback(null, first.address, first.family);
  });
}

/** IP literals skip DNS lookup inside net.connect, so they are checked up front. */
export function literalHostRefusal(hostname: string): Refusal | undefined {
  const host = hostname.startsWith('[') ? hostname.slice(1, -1) : hostname;
  if (!ipaddr.isValid(host)) return undefined;
  const range = blockedRange(host);
  return range ? { host: hostname, address: host, range } : undefined;
}
