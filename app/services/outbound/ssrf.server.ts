import { lookup as dnsLookup, type LookupAddress } from "node:dns";
import { promises as dns } from "node:dns";
import { BlockList, isIP } from "node:net";

/**
 * Server-side request forgery guard for outbound endpoints. In production (unless
 * OUTBOUND_ALLOW_PRIVATE=true) an endpoint may not reach loopback, link-local, private or other
 * non-public addresses: checked when the URL is saved (every address its name resolves to) and
 * again when each request connects (the resolver below), so a name that later resolves somewhere
 * private — DNS rebinding — is refused at send time too.
 */

const blocked = new BlockList();
for (const [net, prefix] of [
  ["0.0.0.0", 8],
  ["10.0.0.0", 8],
  ["100.64.0.0", 10],
  ["127.0.0.0", 8],
  ["169.254.0.0", 16],
  ["172.16.0.0", 12],
  ["192.0.0.0", 24],
  ["192.168.0.0", 16],
  ["198.18.0.0", 15],
  ["224.0.0.0", 3],
] as const)
  blocked.addSubnet(net, prefix, "ipv4");
for (const [net, prefix] of [
  ["::", 128],
  ["::1", 128],
  ["fc00::", 7],
  ["fe80::", 10],
  ["ff00::", 8],
] as const)
  blocked.addSubnet(net, prefix, "ipv6");

/** Loopback, link-local, private, shared, multicast or unspecified (IPv4-mapped IPv6 included). */
export function isPrivateAddress(address: string): boolean {
  const family = isIP(address);
  if (family === 4) return blocked.check(address, "ipv4");
  if (family !== 6) return true;
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
  if (mapped) return blocked.check(mapped[1], "ipv4");
  return blocked.check(address, "ipv6");
}

export class UnsafeUrlError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "UnsafeUrlError";
  }
}

export interface UrlPolicy {
  /** Refuse non-public addresses (production without OUTBOUND_ALLOW_PRIVATE). */
  blockPrivate: boolean;
  /** The app's own public URL: an endpoint may not point back at it. */
  appUrl?: string;
  /** Hosts that are the app itself besides APP_URL's (e.g. localhost:PORT). */
  selfOrigins?: string[];
}

function stripBrackets(host: string): string {
  return host.startsWith("[") && host.endsWith("]") ? host.slice(1, -1) : host;
}

/** Syntax and self-reference checks, no network: http(s), a host, not the app itself. */
export function checkUrlShape(raw: string, policy: UrlPolicy): URL {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new UnsafeUrlError("must be an absolute http:// or https:// URL");
  }
  if (url.protocol !== "http:" && url.protocol !== "https:")
    throw new UnsafeUrlError(`must use http or https, not ${url.protocol.replace(":", "")}`);
  if (!url.hostname) throw new UnsafeUrlError("must name a host");
  if (url.username || url.password)
    throw new UnsafeUrlError("must not carry a user name or password");
  const self = [policy.appUrl, ...(policy.selfOrigins ?? [])]
    .filter((u): u is string => Boolean(u))
    .map((u) => new URL(u).origin);
  if (self.includes(url.origin))
    throw new UnsafeUrlError("points at creditdesk itself; events would be sent to ourselves");
  return url;
}

/** Every address the host resolves to must be public (when the policy blocks private ones). */
export async function checkUrlAddresses(url: URL, policy: UrlPolicy): Promise<void> {
  if (!policy.blockPrivate) return;
  const host = stripBrackets(url.hostname);
  let addresses: string[];
  if (isIP(host)) addresses = [host];
  else {
    try {
      addresses = (await dns.lookup(host, { all: true, verbatim: true })).map((a) => a.address);
    } catch {
      throw new UnsafeUrlError(`host ${host} does not resolve`);
    }
  }
  const bad = addresses.find(isPrivateAddress);
  if (bad)
    throw new UnsafeUrlError(
      `resolves to ${bad}, a loopback, link-local or private address (set OUTBOUND_ALLOW_PRIVATE=true to allow)`,
    );
}

export async function assertSafeUrl(raw: string, policy: UrlPolicy): Promise<URL> {
  const url = checkUrlShape(raw, policy);
  await checkUrlAddresses(url, policy);
  return url;
}

type LookupCallback = (
  err: NodeJS.ErrnoException | null,
  address: string | LookupAddress[],
  family?: number,
) => void;

/**
 * A `lookup` for http.request that refuses private addresses: the connection goes only to an
 * address that was checked, so a rebinding name cannot slip one in between check and connect.
 */
export function guardedLookup(
  hostname: string,
  options: { all?: boolean; family?: number },
  callback: LookupCallback,
): void {
  dnsLookup(hostname, { ...options, all: true, verbatim: true }, (err, addresses) => {
    if (err) return callback(err, []);
    const list = addresses as LookupAddress[];
    const bad = list.find((a) => isPrivateAddress(a.address));
    if (bad) {
      const error = new UnsafeUrlError(
        `${hostname} resolves to ${bad.address}, a non-public address`,
      ) as NodeJS.ErrnoException;
      error.code = "EOUTBOUNDPRIVATE";
      return callback(error, []);
    }
    if (options.all) return callback(null, list);
    return callback(null, list[0].address, list[0].family);
  });
}
