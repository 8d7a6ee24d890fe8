/**
 * What a target names. `xds:///name` (gRPC's xDS scheme) names a Listener, as gRPC's xDS resolver
 * resolves it: the Listener is `name` mapped by the bootstrap's
 * `client_default_listener_resource_name_template` (gRFC A47; `%s` when there is none), and `name` is
 * the `:authority` the call carries and matches virtual hosts with. Such a call uses that listener or
 * fails; it never borrows another listener's routes. Any other target (`host:port`, `dns:///host:port`)
 * is an authority the router routes by its rules (the listener named like it, the one bound to its
 * port, the mesh's `listener`, the only one, every route configuration) — the same in both config
 * sources (a file, or a control plane).
 */
import { MeshError } from '@xmesh/core';

export interface Target {
  /** The `:authority` (Host) calls carry and virtual hosts are matched against. */
  readonly authority: string;
  /** The Listener an `xds:` target names; undefined for authority routing. */
  readonly listener: string | undefined;
}

const XDS = /^xds:(?:\/\/([^/]*)\/)?(.*)$/;

/** True when `target` uses the `xds:` scheme. */
export function isXdsTarget(target: string): boolean {
  return target.startsWith('xds:');
}

/**
 * Splits a gRPC target. `listenerName` maps an `xds:///name` target's name to its Listener.
 * @throws MeshError XMESH_CONFIG_INVALID for an `xds:` target with an authority (`xds://host/name`:
 *   federation authorities are not supported) or without a name.
 */
export function parseTarget(target: string, listenerName: (name: string) => string): Target {
  const xds = XDS.exec(target);
  if (xds === null) return { authority: authorityOf(target), listener: undefined };
  const [, authority, name] = xds;
  if (authority !== undefined && authority !== '') {
    throw invalidTarget(target, `xDS authorities (xds://${authority}/...) are not supported: name the listener as xds:///name`);
  }
  if (name === undefined || name === '') throw invalidTarget(target, 'an xds: target names a listener: xds:///name');
  return { authority: name, listener: listenerName(name) };
}

/**
 * A `fetch` URL with the `xds:` scheme: `xds:///name/path?query` names the listener `name` (its first
 * path segment) and the request path; returns the plain URL fetch sends (`http://name/path?query`,
 * so `Host` is `name`, as a gRPC client's `:authority`) and the target. Undefined for other URLs.
 */
export function parseXdsUrl(url: string, listenerName: (name: string) => string): { url: string; target: Target } | undefined {
  if (!isXdsTarget(url)) return undefined;
  const xds = XDS.exec(url)!;
  const rest = xds[2] ?? '';
  const cut = rest.search(/[/?#]/);
  const name = cut < 0 ? rest : rest.slice(0, cut);
  const path = cut < 0 ? '/' : rest[cut] === '/' ? rest.slice(cut) : `/${rest.slice(cut)}`;
  const target = parseTarget(`xds:///${name}`, listenerName);
  if (xds[1] !== undefined && xds[1] !== '') parseTarget(url, listenerName); // throws: authorities are refused
  return { url: `http://${name}${path}`, target };
}

/** `dns:///host:port`, `dns:host:port` and `host:port` all address the authority `host:port`. */
export function authorityOf(target: string): string {
  const match = /^dns:(?:\/\/[^/]*\/)?(.*)$/.exec(target);
  return match ? match[1]! : target;
}

function invalidTarget(target: string, message: string): MeshError {
  return new MeshError('XMESH_CONFIG_INVALID', `target ${JSON.stringify(target)}: ${message}`, { errors: [{ path: 'target', message }] });
}
