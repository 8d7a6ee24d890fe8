/**
 * Upstreams and config for request mirroring tests: stock node `http` and `http2` servers that record
 * what they receive (method, path, Host or `:authority`, headers, body), answering it or holding it
 * unanswered ("hang") until closed; a config whose routes mirror to them; and a seeded random.
 */
import { createServer, type IncomingHttpHeaders, type IncomingMessage, type ServerResponse } from 'node:http';
import { createServer as createH2Server, type Http2Session, type ServerHttp2Stream } from 'node:http2';
import type { Socket } from 'node:net';
import { closedPort } from './echo-server.js';
import { bootstrap } from './mesh-config.js';

export interface SeenRequest {
  readonly method: string;
  readonly path: string;
  /** Host (HTTP/1.1) or `:authority` (HTTP/2). */
  readonly host: string;
  readonly headers: IncomingHttpHeaders;
  readonly body: Buffer;
}

export interface RecordingServer {
  readonly port: number;
  readonly address: string;
  readonly seen: SeenRequest[];
  /** Requests received and not answered (a hanging server answers none). */
  readonly held: number;
  close(): Promise<void>;
}

/** A node `http` server answering `reply <name>` to every request, or (`hang`) never answering. */
export async function startHttpUpstream(name: string, hang = false): Promise<RecordingServer> {
  const seen: SeenRequest[] = [];
  const held = new Set<ServerResponse>();
  const sockets = new Set<Socket>();
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      seen.push({ method: req.method ?? '', path: req.url ?? '', host: req.headers.host ?? '', headers: req.headers, body: Buffer.concat(chunks) });
      if (hang) held.add(res);
      else res.end(`reply ${name}`);
    });
  });
  server.on('connection', (socket: Socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  const port = await listen(server);
  return {
    port, address: `127.0.0.1:${port}`, seen,
    get held() {
      return held.size;
    },
    close: () => {
      held.clear();
      for (const socket of sockets) socket.destroy();
      return new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** A node `http2` server answering every gRPC request with an empty OK, or (`hang`) never answering. */
export async function startH2Upstream(hang = false): Promise<RecordingServer> {
  const seen: SeenRequest[] = [];
  const held = new Set<ServerHttp2Stream>();
  const sessions = new Set<Http2Session>();
  const server = createH2Server();
  server.on('session', (session: Http2Session) => {
    sessions.add(session);
    session.on('close', () => sessions.delete(session));
    session.on('error', () => undefined);
  });
  server.on('stream', (stream: ServerHttp2Stream, headers) => {
    stream.on('error', () => undefined);
    const chunks: Buffer[] = [];
    stream.on('data', (chunk: Buffer) => chunks.push(chunk));
    stream.on('end', () => {
      seen.push({ method: String(headers[':method']), path: String(headers[':path']), host: String(headers[':authority']), headers, body: Buffer.concat(chunks) });
      if (hang) {
        held.add(stream);
        stream.on('close', () => held.delete(stream));
        return;
      }
      stream.respond({ ':status': 200, 'content-type': 'application/grpc' }, { waitForTrailers: true });
      stream.on('wantTrailers', () => stream.sendTrailers({ 'grpc-status': '0' }));
      stream.end();
    });
  });
  const port = await listen(server);
  return {
    port, address: `127.0.0.1:${port}`, seen,
    get held() {
      return held.size;
    },
    close: () => {
      for (const session of sessions) session.destroy();
      return new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

function listen(server: { listen(port: number, host: string, done: () => void): unknown; address(): unknown }): Promise<number> {
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve((server.address() as { port: number }).port)));
}

export interface MirrorUpstreams {
  /** HTTP/1.1: the primary, a recording shadow, a hanging shadow. */
  readonly primary: RecordingServer;
  readonly shadow: RecordingServer;
  readonly hang: RecordingServer;
  /** gRPC: the primary (a stock grpc-js echo server's address), a recording and a hanging HTTP/2 shadow. */
  readonly grpcPrimary: string;
  readonly grpcShadow: RecordingServer;
  readonly grpcHang: RecordingServer;
  /** A port that refuses connections: the `down` mirror cluster. */
  readonly closedPort: number;
}

const ECHO_PREFIX = '/xmesh.echo.Echo/';

/**
 * Routes: `/fraction` mirrors 30 % (runtime_fraction default_value) to `shadow`; `/hang` mirrors to the
 * hanging server; `/down` to a port that refuses connections; `/plain` mirrors without the `-shadow` suffix and unsampled (trace_sampled false);
 * any other path mirrors every request, sampled; the echo service mirrors to `grpc-shadow`, or to
 * `grpc-hang` with `x-shadow: hang`. `hdr.local` mirrors to the cluster its `x-mirror-cluster` header names.
 */
export function mirrorConfig(u: MirrorUpstreams): object {
  const config = bootstrap({
    routes: [
      { prefix: '/fraction', cluster: 'primary' },
      { prefix: '/hang', cluster: 'primary' },
      { prefix: '/plain', cluster: 'primary' },
      { prefix: '/down', cluster: 'primary' },
      { prefix: ECHO_PREFIX, headers: { 'x-shadow': 'hang' }, cluster: 'echo' },
      { prefix: ECHO_PREFIX, cluster: 'echo' },
      { prefix: '/', cluster: 'primary' },
    ],
    clusters: {
      primary: [u.primary.address], shadow: [u.shadow.address], hang: [u.hang.address], down: [`127.0.0.1:${u.closedPort}`],
      echo: [u.grpcPrimary], 'grpc-shadow': [u.grpcShadow.address], 'grpc-hang': [u.grpcHang.address],
    },
    http2: ['echo', 'grpc-shadow', 'grpc-hang'],
  }) as { static_resources: { listeners: { filter_chains: { filters: { typed_config: { route_config: { virtual_hosts: { routes: { route: Record<string, unknown> }[] }[] } } }[] }[] }[] } };
  const routes = config.static_resources.listeners[0]!.filter_chains[0]!.filters[0]!.typed_config.route_config.virtual_hosts[0]!.routes;
  const mirrors: object[][] = [
    [{ cluster: 'shadow', runtime_fraction: { default_value: { numerator: 30, denominator: 'HUNDRED' } } }],
    [{ cluster: 'hang' }],
    [{ cluster: 'shadow', disable_shadow_host_suffix_append: true, trace_sampled: false }],
    [{ cluster: 'down' }],
    [{ cluster: 'grpc-hang' }],
    [{ cluster: 'grpc-shadow', trace_sampled: true }],
    [{ cluster: 'shadow', trace_sampled: true }],
  ];
  routes.forEach((route, i) => (route.route.request_mirror_policies = mirrors[i]));
  // Policies inherited as Envoy does (the most specific non-empty list, not merged): `vh.local` has the
  // virtual host's (no `-shadow` suffix) except on `/own`, which has its own; `rc.local` has the route config's.
  // `rw.local/old` rewrites its path and Host and adds a header.
  const routeConfig = config.static_resources.listeners[0]!.filter_chains[0]!.filters[0]!.typed_config.route_config as unknown as { virtual_hosts: object[]; request_mirror_policies?: object[] };
  routeConfig.virtual_hosts.unshift(
    {
      name: 'vh', domains: ['vh.local:8080'],
      request_mirror_policies: [{ cluster: 'shadow', disable_shadow_host_suffix_append: true }],
      routes: [
        { match: { prefix: '/own' }, route: { cluster: 'primary', request_mirror_policies: [{ cluster: 'shadow' }] } },
        { match: { prefix: '/' }, route: { cluster: 'primary' } },
      ],
    },
    { name: 'rc', domains: ['rc.local:8080'], routes: [{ match: { prefix: '/' }, route: { cluster: 'primary' } }] },
    // The mirror cluster named by a request header, as envoyproxy/examples route-mirror/envoy.yaml's /service/2.
    // `/by-route` sets the header itself: the cluster is read from the request as the route sends it.
    {
      name: 'hdr', domains: ['hdr.local:8080'], routes: [
        { match: { prefix: '/by-route' }, request_headers_to_add: [{ header: { key: 'x-mirror-cluster', value: 'shadow' } }], route: { cluster: 'primary', request_mirror_policies: [{ cluster_header: 'X-Mirror-Cluster' }] } },
        { match: { prefix: '/' }, route: { cluster: 'primary', request_mirror_policies: [{ cluster_header: 'X-Mirror-Cluster' }] } },
      ],
    },
    // The copy is made from the request as the route sends it (Envoy's router finalizes the headers first).
    {
      name: 'rw', domains: ['rw.local:8080'],
      routes: [{
        match: { prefix: '/old' },
        request_headers_to_add: [{ header: { key: 'x-route', value: 'added' } }],
        route: { cluster: 'primary', prefix_rewrite: '/new', host_rewrite_literal: 'backend.local', request_mirror_policies: [{ cluster: 'shadow' }] },
      }],
    },
  );
  routeConfig.request_mirror_policies = [{ cluster: 'shadow' }];
  return config;
}

export async function startMirrorUpstreams(grpcPrimary: string): Promise<MirrorUpstreams> {
  const [primary, shadow, hang, grpcShadow, grpcHang] = await Promise.all([
    startHttpUpstream('primary'), startHttpUpstream('shadow'), startHttpUpstream('hang', true), startH2Upstream(), startH2Upstream(true),
  ]);
  return { primary, shadow, hang, grpcPrimary, grpcShadow, grpcHang, closedPort: await closedPort() };
}

export async function closeMirrorUpstreams(u: MirrorUpstreams): Promise<void> {
  await Promise.all([u.primary, u.shadow, u.hang, u.grpcShadow, u.grpcHang].map((s) => s.close()));
}

/** mulberry32: a small seeded uniform generator in [0, 1), so a fraction's count is the same on every run. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
