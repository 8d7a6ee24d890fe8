/**
 * An RBAC `matcher` (the Unified Matcher API) compiled to a decision function, with Envoy's semantics: the
 * first action the matcher reaches decides — ALLOW and LOG allow, DENY denies — and a request that reaches
 * none is denied. A field matcher whose nested matcher reaches no action does not match: the list goes on. A
 * predicate whose input has no value (a missing header, a TLS connection without a DNS SAN) is false. A TLS
 * input on a plaintext connection has no data at all (Envoy's `NotAvailable`): the matcher cannot decide
 * (`UNABLE`, Envoy's UnableToMatch), which stops the evaluation — no later field, nor `on_no_match`, is tried —
 * and the request is denied. Inputs read the request's headers (repeated ones joined with ","), and the
 * downstream connection as Envoy's network and TLS inputs read it.
 */
import { compileStringMatch, headerValue } from '@xmesh/router';
import type { MatchInput, RbacMatcher, RbacMatcherTree, RbacOnMatch, RbacPredicate } from '@xmesh/xds';
import { cidr, plainIp, type RbacEngine, type RbacInput } from './rbac-engine.js';

type Action = Extract<RbacOnMatch, { kind: 'action' }>;
/** An input with no data to read (Envoy's `NotAvailable`), and a matcher that therefore cannot decide. */
const UNABLE = Symbol('unable to match');
type Unable = typeof UNABLE;
/** The action reached, undefined for none, or UNABLE. */
type Evaluate = (input: RbacInput) => Action | undefined | Unable;
type Predicate = (input: RbacInput) => boolean | Unable;
/** The input's value; undefined when it has none; UNABLE when it has no data to read. */
type Read = (input: RbacInput) => string | undefined | Unable;

export function compileRbacMatcher(matcher: RbacMatcher): RbacEngine {
  const evaluate = compileMatcher(matcher);
  return {
    allowed: (input) => {
      const action = evaluate(input);
      return action !== undefined && action !== UNABLE && action.action !== 'DENY';
    },
    matchedPolicy: (input) => {
      const action = evaluate(input);
      return action === undefined || action === UNABLE ? undefined : action.name;
    },
  };
}

function compileMatcher(matcher: RbacMatcher): Evaluate {
  const onNoMatch = matcher.onNoMatch === undefined ? undefined : compileOnMatch(matcher.onNoMatch);
  let body: Evaluate;
  if (matcher.list !== undefined) {
    const fields = matcher.list.map((f) => ({ predicate: compilePredicate(f.predicate), onMatch: compileOnMatch(f.onMatch) }));
    body = (input) => {
      for (const field of fields) {
        const holds = field.predicate(input);
        if (holds === UNABLE) return UNABLE;
        if (!holds) continue;
        const action = field.onMatch(input);
        if (action !== undefined) return action;
      }
      return undefined;
    };
  } else if (matcher.tree !== undefined) {
    body = compileTree(matcher.tree);
  } else {
    body = () => undefined;
  }
  if (onNoMatch === undefined) return body;
  return (input) => body(input) ?? onNoMatch(input);
}

function compileOnMatch(onMatch: RbacOnMatch): Evaluate {
  if (onMatch.kind === 'action') return () => onMatch;
  return compileMatcher(onMatch.matcher);
}

/** As Envoy's field matchers: `and` stops at the first false or UNABLE; `or` is true when one holds, else UNABLE if one was. */
function compilePredicate(p: RbacPredicate): Predicate {
  switch (p.kind) {
    case 'single': {
      const read = compileInput(p.input);
      const match = compileStringMatch(p.match, 'rbac.matcher.value_match');
      return (input) => {
        const value = read(input);
        return value === UNABLE ? UNABLE : value !== undefined && match(value);
      };
    }
    case 'and': {
      const all = p.predicates.map(compilePredicate);
      return (input) => {
        for (const m of all) {
          const holds = m(input);
          if (holds !== true) return holds;
        }
        return true;
      };
    }
    case 'or': {
      const any = p.predicates.map(compilePredicate);
      return (input) => {
        let unable = false;
        for (const m of any) {
          const holds = m(input);
          if (holds === true) return true;
          if (holds === UNABLE) unable = true;
        }
        return unable ? UNABLE : false;
      };
    }
    case 'not': {
      const inner = compilePredicate(p.predicate);
      return (input) => {
        const holds = inner(input);
        return holds === UNABLE ? UNABLE : !holds;
      };
    }
  }
}

function compileTree(tree: RbacMatcherTree): Evaluate {
  const read = compileInput(tree.input);
  switch (tree.kind) {
    case 'exact': {
      const map = new Map([...tree.map].map(([key, onMatch]) => [key, compileOnMatch(onMatch)]));
      return (input) => {
        const value = read(input);
        return value === undefined || value === UNABLE ? value : map.get(value)?.(input);
      };
    }
    case 'prefix': {
      // Longest prefix first; a prefix whose matcher reaches no action gives way to the next shorter one.
      const entries = [...tree.map].map(([key, onMatch]) => ({ key, evaluate: compileOnMatch(onMatch) })).sort((a, b) => b.key.length - a.key.length);
      return (input) => {
        const value = read(input);
        if (value === undefined || value === UNABLE) return value;
        for (const { key, evaluate } of entries) {
          if (!value.startsWith(key)) continue;
          const action = evaluate(input);
          if (action !== undefined) return action;
        }
        return undefined;
      };
    }
    case 'ip': {
      // Most specific range first; an `exclusive` range that holds the address but reaches no action ends the search.
      const ranges = tree.ranges
        .flatMap((r) => r.ranges.map((range) => ({ range, contains: cidr(range), evaluate: compileOnMatch(r.onMatch), exclusive: r.exclusive })))
        .sort((a, b) => b.range.prefixLen - a.range.prefixLen);
      return (input) => {
        const value = read(input);
        if (value === undefined || value === UNABLE) return value;
        for (const candidate of ranges) {
          if (!candidate.contains(value)) continue;
          const action = candidate.evaluate(input);
          if (action !== undefined || candidate.exclusive) return action;
        }
        return undefined;
      };
    }
  }
}

function compileInput(input: MatchInput): Read {
  switch (input.kind) {
    case 'request_header': {
      const name = input.name;
      return (i) => headerValue(i.request, name);
    }
    case 'destination_ip': return (i) => ip(i.connection.localAddress);
    case 'destination_port': return (i) => portText(i.connection.localPort);
    case 'source_ip': return (i) => ip(i.remoteIp());
    case 'source_port': return (i) => portText(i.connection.remotePort);
    case 'direct_source_ip': return (i) => ip(i.connection.remoteAddress);
    case 'source_type': return (i) => {
      // Envoy's SourceTypeInput (Network::Utility::isSameIpOrLoopback): "local" when the downstream's address — the
      // HCM's, so X-Forwarded-For where it is trusted, as source_ip — is 127.0.0.1, ::1 or the connection's own.
      const remote = ip(i.remoteIp());
      if (remote === undefined) return undefined;
      return remote === '127.0.0.1' || remote === '::1' || remote === ip(i.connection.localAddress) ? 'local' : undefined;
    };
    case 'server_name': return (i) => i.connection.tls?.serverName || undefined;
    // Envoy's SSL inputs have no data on a plaintext connection (NotAvailable), and no value without a peer certificate.
    case 'uri_san': return (i) => (i.connection.tls === undefined ? UNABLE : joined(i.connection.tls.peer?.uriSans));
    case 'dns_san': return (i) => (i.connection.tls === undefined ? UNABLE : joined(i.connection.tls.peer?.dnsSans));
    case 'subject': return (i) => (i.connection.tls === undefined ? UNABLE : i.connection.tls.peer?.subject || undefined);
  }
}

function ip(address: string | undefined): string | undefined {
  return address === undefined || address === '' ? undefined : plainIp(address);
}

function portText(port: number | undefined): string | undefined {
  return port === undefined ? undefined : String(port);
}

function joined(values: readonly string[] | undefined): string | undefined {
  return values === undefined || values.length === 0 ? undefined : values.join(',');
}

