/** An authority split for virtual-host matching. Both forms are ASCII lower-case. */
export interface SplitAuthority {
  /** `host:port` as given (lower-cased), or the host alone when no port was given. */
  readonly hostPort: string;
  /** The host without port; IPv6 literals keep their brackets (`[::1]`). */
  readonly host: string;
  /** The port, or undefined when the authority names none. */
  readonly port: number | undefined;
}

/**
 * Splits a lower-cased `host[:port]` (including `[v6]:port`). A trailing `:digits` is the port; anything else
 * (a bare IPv6 literal without brackets, a non-numeric tail) is all host.
 */
export function splitAuthority(lowerCased: string): SplitAuthority {
  const colon = lowerCased.lastIndexOf(':');
  if (colon <= 0 || colon === lowerCased.length - 1) return { hostPort: lowerCased, host: lowerCased, port: undefined };
  const closeBracket = lowerCased.lastIndexOf(']');
  if (closeBracket > colon) return { hostPort: lowerCased, host: lowerCased, port: undefined };
  if (closeBracket < 0 && lowerCased.indexOf(':') !== colon) {
    return { hostPort: lowerCased, host: lowerCased, port: undefined };
  }
  let port = 0;
  for (let i = colon + 1; i < lowerCased.length; i++) {
    const c = lowerCased.charCodeAt(i);
    if (c < 48 || c > 57) return { hostPort: lowerCased, host: lowerCased, port: undefined };
    port = port * 10 + (c - 48);
  }
  if (port > 65535) return { hostPort: lowerCased, host: lowerCased, port: undefined };
  return { hostPort: lowerCased, host: lowerCased.slice(0, colon), port };
}
