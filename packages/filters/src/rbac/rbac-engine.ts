/**
 * One `config.rbac.v3.RBAC` rule set compiled to a decision function, with Envoy's semantics: a policy
 * matches when any of its permissions and any of its principals match; ALLOW allows the request when a
 * policy matches, DENY when none does, LOG always. Matchers read the request (headers, `url_path` without
 * query and fragment), the downstream connection (addresses, port, TLS SNI and peer certificate) and the
 * downstream address the HTTP connection manager derives from X-Forwarded-For (`remote_ip`).
 */
import { BlockList, isIP, SocketAddress } from 'node:net';
import { compileHeaderMatcher, compileStringMatch, type HeaderSource, type StringPredicate } from '@xmesh/router';
import type { CallerTrust, CidrRange, RbacPermission, RbacPrincipal, RbacRules } from '@xmesh/xds';
import type { DownstreamConnection } from '../chain/filter-call.js';

/** What one decision reads. `remoteIp` is computed on first use. */
export interface RbacInput {
  readonly request: HeaderSource;
  readonly connection: DownstreamConnection;
  remoteIp(): string | undefined;
}

type Matcher = (input: RbacInput) => boolean;

export interface RbacEngine {
  /** True when the request is allowed; `matched` gets the name of the first matching policy (name order). */
  allowed(input: RbacInput): boolean;
  /** The first policy (name order) that matches, or undefined. */
  matchedPolicy(input: RbacInput): string | undefined;
}

export function compileRbac(rules: RbacRules): RbacEngine {
  const policies = rules.policies.map((p) => ({ name: p.name, permissions: p.permissions.map(permission), principals: p.principals.map(principal) }));
  const matchedPolicy = (input: RbacInput): string | undefined => {
    for (const policy of policies) {
      if (policy.permissions.some((m) => m(input)) && policy.principals.some((m) => m(input))) return policy.name;
    }
    return undefined;
  };
  const action = rules.action;
  return {
    matchedPolicy,
    allowed: (input) => {
      if (action === 'LOG') return true;
      const matched = matchedPolicy(input) !== undefined;
      return action === 'ALLOW' ? matched : !matched;
    },
  };
}

function permission(p: RbacPermission): Matcher {
  switch (p.kind) {
    case 'any': return () => true;
    case 'and': return every(p.rules.map(permission));
    case 'or': return some(p.rules.map(permission));
    case 'not': {
      const inner = permission(p.rule);
      return (input) => !inner(input);
    }
    case 'header': {
      const match = compileHeaderMatcher(p.header, 'rbac.header');
      return (input) => match(input.request);
    }
    case 'url_path': return urlPath(compileStringMatch(p.path, 'rbac.url_path'));
    case 'destination_ip': {
      const inRange = cidr(p.range);
      return (input) => inRange(input.connection.localAddress);
    }
    case 'destination_port': return (input) => input.connection.localPort === p.port;
    case 'destination_port_range': return (input) => {
      const port = input.connection.localPort;
      return port !== undefined && p.start <= port && port < p.end;
    };
    case 'requested_server_name': {
      const match = compileStringMatch(p.match, 'rbac.requested_server_name');
      return (input) => match(input.connection.tls?.serverName ?? '');
    }
  }
}

function principal(p: RbacPrincipal): Matcher {
  switch (p.kind) {
    case 'any': return () => true;
    case 'and': return every(p.ids.map(principal));
    case 'or': return some(p.ids.map(principal));
    case 'not': {
      const inner = principal(p.id);
      return (input) => !inner(input);
    }
    case 'authenticated': {
      const name = p.principalName === undefined ? undefined : compileStringMatch(p.principalName, 'rbac.authenticated');
      return (input) => {
        const tls = input.connection.tls;
        if (tls === undefined) return false;
        if (name === undefined) return true;
        const peer = tls.peer;
        if (peer === undefined) return name('');
        // Envoy: any URI SAN, then any DNS SAN, then the subject.
        return peer.uriSans.some(name) || peer.dnsSans.some(name) || name(peer.subject);
      };
    }
    case 'direct_remote_ip': {
      const inRange = cidr(p.range);
      return (input) => inRange(input.connection.remoteAddress);
    }
    case 'remote_ip': {
      const inRange = cidr(p.range);
      return (input) => inRange(input.remoteIp());
    }
    case 'header': {
      const match = compileHeaderMatcher(p.header, 'rbac.header');
      return (input) => match(input.request);
    }
    case 'url_path': return urlPath(compileStringMatch(p.path, 'rbac.url_path'));
  }
}

function every(matchers: readonly Matcher[]): Matcher {
  return (input) => matchers.every((m) => m(input));
}

function some(matchers: readonly Matcher[]): Matcher {
  return (input) => matchers.some((m) => m(input));
}

/** `url_path`: the `:path` without its query and fragment. */
function urlPath(match: StringPredicate): Matcher {
  return (input) => {
    const path = input.request.path;
    let end = path.length;
    for (let i = 0; i < path.length; i++) {
      const c = path.charCodeAt(i);
      if (c === 63 /* ? */ || c === 35 /* # */) {
        end = i;
        break;
      }
    }
    return match(end === path.length ? path : path.slice(0, end));
  };
}

/** True when an address lies in `range` (IPv4-mapped IPv6 addresses count as IPv4); false for none. */
export function cidr(range: CidrRange): (address: string | undefined) => boolean {
  const family = isIP(range.addressPrefix) === 6 ? 'ipv6' : 'ipv4';
  const list = new BlockList();
  list.addSubnet(range.addressPrefix, range.prefixLen, family);
  return (address) => {
    const ip = address === undefined ? undefined : plainIp(address);
    if (ip === undefined) return false;
    const kind = isIP(ip);
    return kind !== 0 && list.check(ip, kind === 6 ? 'ipv6' : 'ipv4');
  };
}

/**
 * An address as the canonical text of its IP, as Envoy's `addressAsString` gives it (IPv6 lower case, zeros
 * compressed: `2001:DB8:0::7` is `2001:db8::7`), an IPv4-mapped IPv6 address as its IPv4 address (`::ffff:a.b.c.d`, as
 * a dual-stack listener reports an IPv4 peer). Text that is not an IP is returned as it is.
 */
export function plainIp(address: string): string {
  const family = isIP(address);
  if (family !== 6) return address;
  const canonical = new SocketAddress({ address, family: 'ipv6' }).address;
  return canonical.startsWith('::ffff:') && isIP(canonical.slice(7)) === 4 ? canonical.slice(7) : canonical;
}

/**
 * The downstream's address as the HTTP connection manager derives it (Envoy's mutateRequestHeaders):
 * with `use_remote_address` the connection's peer (or, with `xff_num_trusted_hops`, the X-Forwarded-For
 * entry `hops - 1` from the right); otherwise the X-Forwarded-For entry `xff_num_trusted_hops` from the
 * right; the peer when X-Forwarded-For has no such (valid) entry.
 */
export function downstreamRemoteAddress(peer: string | undefined, forwardedFor: string | undefined, trust: CallerTrust | undefined): string | undefined {
  const hops = trust?.xffNumTrustedHops ?? 0;
  const skip = trust?.useRemoteAddress === true ? hops - 1 : hops;
  if (skip < 0 || forwardedFor === undefined) return peer;
  const entries = forwardedFor.split(',');
  const entry = entries.length > skip ? entries[entries.length - 1 - skip]!.trim() : undefined;
  return entry !== undefined && isIP(entry) !== 0 ? entry : peer;
}
