/**
 * The upstreams and config of the sidecar's hostile-peer tests: a stock grpc-js echo server
 * (`/xmesh.echo.Echo/*`), a node:http server (`/web/*`), and one cluster per hostile upstream
 * script (`/h/<name>/*`), each with its own route timeout and the HCM fields a case needs.
 */
import { createServer as createHttpServer, type Server as HttpServer } from 'node:http';
import { startEchoServer, type EchoServer } from '../../support/echo-server.js';

export interface HostileRoute {
  /** `host:port` of the upstream. */
  readonly address: string;
  readonly http2: boolean;
  /** Route timeout, e.g. '2s' (Envoy's default 15 s when unset). */
  readonly timeout?: string;
  /** Extra route-action fields (`max_stream_duration`, `idle_timeout`, ...). */
  readonly action?: Record<string, unknown>;
}

export interface GoodUpstreams {
  readonly echo: EchoServer;
  readonly web: HttpServer;
  readonly webAddress: string;
  close(): Promise<void>;
}

export async function startGoodUpstreams(): Promise<GoodUpstreams> {
  const echo = await startEchoServer('good');
  const web = createHttpServer((req, res) => {
    req.resume();
    req.on('end', () => res.end(`web ${req.url}`));
  });
  await new Promise<void>((resolve) => web.listen(0, '127.0.0.1', resolve));
  return {
    echo,
    web,
    webAddress: `127.0.0.1:${(web.address() as { port: number }).port}`,
    close: async () => {
      web.closeAllConnections();
      await Promise.all([echo.close(), new Promise<void>((resolve) => web.close(() => resolve()))]);
    },
  };
}

/** A STATIC cluster of one endpoint `host:port` (HTTP/2 when `http2`). */
export function cluster(name: string, address: string, http2: boolean): object {
  const at = address.lastIndexOf(':');
  return {
    name,
    type: 'STATIC',
    connect_timeout: '1s',
    ...(http2 ? { http2_protocol_options: {} } : {}),
    load_assignment: { cluster_name: name, endpoints: [{ lb_endpoints: [{ endpoint: { address: { socket_address: { address: address.slice(0, at), port_value: Number(address.slice(at + 1)) } } } }] }] },
  };
}

/** A bootstrap: good routes first, then `/h/<name>` per hostile route; `hcm` merged into the HttpConnectionManager. */
export function hostileConfig(good: GoodUpstreams, hostile: Record<string, HostileRoute> = {}, hcm: Record<string, unknown> = {}, listener: Record<string, unknown> = {}): object {
  const routes: object[] = [
    { match: { prefix: '/xmesh.echo.Echo/' }, route: { cluster: 'echo' } },
    { match: { prefix: '/web' }, route: { cluster: 'web' } },
  ];
  const clusters: object[] = [cluster('echo', good.echo.address, true), cluster('web', good.webAddress, false)];
  for (const [name, spec] of Object.entries(hostile)) {
    routes.push({ match: { prefix: `/h/${name}` }, route: { cluster: `h_${name}`, ...(spec.timeout ? { timeout: spec.timeout } : {}), ...spec.action } });
    clusters.push(cluster(`h_${name}`, spec.address, spec.http2));
  }
  return {
    static_resources: {
      listeners: [{
        name: 'mesh',
        address: { socket_address: { address: '127.0.0.1', port_value: 15001 } },
        filter_chains: [{ filters: [{
          name: 'envoy.filters.network.http_connection_manager',
          typed_config: {
            '@type': 'type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager',
            stat_prefix: 'mesh',
            route_config: { name: 'mesh', virtual_hosts: [{ name: 'all', domains: ['*'], routes }] },
            http_filters: [{ name: 'envoy.filters.http.router', typed_config: { '@type': 'type.googleapis.com/envoy.extensions.filters.http.router.v3.Router' } }],
            ...hcm,
          },
        }] }],
        ...listener,
      }],
      clusters,
    },
  };
}
