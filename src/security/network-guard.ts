import { lookup as dnsLookup, type LookupAddress } from 'node:dns';
import ipaddr from 'ipaddr.js';

/**
 * Refuses loopback, private, link-local, CGNAT, cloud-metadata and every other non-public
 * range. It runs inside the HTTP client's own DNS lookup, so the address that was checked is
 * the address connected to (no DNS-rebinding window).
 */
export class BlockedAddressError extends Error {
  readonly code = 'HERALD_BLOCKED_ADDRESS';
}

export function blockedReason(address: string): string | undefined {
  if (!ipaddr.isValid(address)) return `${address} is not an IP address`;
  let parsed = ipaddr.parse(address);
  if (parsed.kind() === 'ipv6' && (parsed as ipaddr.IPv6).isIPv4MappedAddress()) {
    parsed = (parsed as ipaddr.IPv6).toIPv4Address();
  }
  const range = parsed.range();
  if (range === 'unicast') return undefined;
  return `${address} is a ${range} address; deliveries to non-public networks are refused (HERALD_ALLOW_PRIVATE_NETWORKS=true lifts this)`;
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
      const reason = blockedReason(entry.address);
      if (reason) return callback(new BlockedAddressError(`${hostname} resolves to ${reason}`), []);
    }
    if (options.all) return callback(null, addresses);
    const first = addresses[0];
    if (!first) return callback(new Error(`${hostname} has no address`), []);
    callback(null, first.address, first.family);
  });
}

/** IP literals skip DNS lookup inside net.connect, so they are checked up front. */
export function literalHostReason(hostname: string): string | undefined {
  const host = hostname.startsWith('[') ? hostname.slice(1, -1) : hostname;
  return ipaddr.isValid(host) ? blockedReason(host) : undefined;
}
