/** An endpoint address: host (IPv6 without brackets) and port. */
export interface HostPort {
  readonly host: string;
  readonly port: number;
}

/**
 * Parses a channel target: `host:port`, `[v6]:port`, optionally prefixed with
 * `dns:`, `dns:///`, `ipv4:` or `ipv6:` as grpc-js accepts. No name resolution
 * happens here: the endpoint is dialled as given.
 */
export function parseTarget(target: string): HostPort {
  const address = target.replace(/^(dns:(\/\/[^/]*\/)?|ipv4:|ipv6:)/, '');
  const bracketed = /^\[([^\]]+)\]:(\d+)$/.exec(address);
  const plain = /^([^:]+):(\d+)$/.exec(address);
  const match = bracketed ?? plain;
  const port = match === null ? NaN : Number(match[2]);
  if (match === null || !Number.isInteger(port) || port < 1 || port > 65535) {
    throw new TypeError(`grpc-lean target "${target}": expected host:port`);
  }
  return { host: match[1]!, port };
}
