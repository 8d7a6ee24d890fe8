/**
 * The opt-in admin server, with Envoy's paths and formats: `/config_dump` (Envoy's ConfigDump, with
 * `?resource=`, `?mask=`, `?include_eds`), `/clusters` (text, or Envoy's Clusters JSON with
 * `?format=json`), `/stats`, `/stats/prometheus`, `/server_info`, `/ready`, `/help`, plus
 * `/xmesh/config_status` (the last applied and the last rejected config). Loopback by default; it
 * serves reads only.
 */
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createRequire } from 'node:module';
import { envoyStatsText } from './envoy-text.js';
import { compileStatsFilter } from './stats-filter.js';
import type { PrometheusExporter } from './prometheus.js';
import type { StatStore } from './stat-store.js';

/** node:http's values without an ESM import of it: that import evaluates every export, and its lazy WebSocket ones load Node's bundled undici (~5 MiB RSS). */
const { createServer } = process.getBuiltinModule('node:http');

/** This package's version, for `/server_info`. */
const VERSION: string = (createRequire(import.meta.url)('../package.json') as { version: string }).version;

export interface HostStatus {
  /** `host:port`. */
  readonly address: string;
  /** Envoy's `health_flags`: `healthy`, or `/failed_active_hc`, `/failed_outlier_check`, ... joined, in Envoy's order. */
  readonly healthFlags: string;
  readonly weight: number;
  readonly priority: number;
  readonly zone: string;
  readonly rqActive: number;
  readonly ejected: boolean;
  /** The EDS `health_status` (UNKNOWN, HEALTHY, ...). */
  readonly edsHealthStatus?: string;
  readonly region?: string;
  readonly subZone?: string;
  readonly hostname?: string;
  /** Per-host counters (`rq_total`, `rq_success`, `rq_error`). */
  readonly counters?: Readonly<Record<string, number>>;
}

export interface ClusterStatus {
  readonly name: string;
  readonly hosts: readonly HostStatus[];
  /** True for a cluster from a dynamic source (CDS, a file dynamic_resources names). */
  readonly addedViaApi?: boolean;
  readonly edsServiceName?: string;
}

/** `/config_dump` parameters. */
export interface ConfigDumpQuery {
  readonly resource?: string;
  readonly mask?: string;
  readonly includeEds: boolean;
}

export type ConfigDumpResult = { readonly ok: true; readonly dump: unknown } | { readonly ok: false; readonly status: number; readonly message: string };

/** What the admin server shows; the mesh implements it. */
export interface AdminSource {
  /** Read on every `/stats` request (a getter may refresh values first). */
  readonly store: StatStore;
  readonly prometheus: Pick<PrometheusExporter, 'metrics' | 'contentType'>;
  /** Envoy's ConfigDump for `query` (or why there is none: an unknown `resource`). */
  configDump(query: ConfigDumpQuery): ConfigDumpResult;
  /** JSON-serializable: the applied config's version and time, the last rejected update with its errors. */
  configStatus(): unknown;
  clusters(): readonly ClusterStatus[];
  /** True once a config applied and its clusters resolved. */
  ready(): boolean;
  /** True while draining (`/server_info` says DRAINING). */
  draining?(): boolean;
  /** The `node` of `/server_info` (the xDS node, when the mesh follows a control plane). */
  node?(): unknown;
  /** `POST /healthcheck/fail` (true) and `/healthcheck/ok` (false): the health check filters' answer; absent = no such paths. */
  failHealthChecks?(failed: boolean): void;
}

export interface AdminServerOptions {
  /** Default `127.0.0.1`. */
  readonly host?: string;
  /** Default 0 (any free port). */
  readonly port?: number;
}

export interface AdminServer {
  readonly host: string;
  readonly port: number;
  readonly url: string;
  close(): Promise<void>;
}

/** What `/help` lists, in Envoy's words where Envoy has the path. */
const HELP: readonly (readonly [string, string])[] = [
  ['/clusters', 'upstream cluster status (?format=json for Envoy\'s Clusters JSON)'],
  ['/config_dump', 'dump current Envoy configs (?resource=, ?mask=, ?include_eds)'],
  ['/healthcheck/fail', 'cause the server to fail health checks (POST)'],
  ['/healthcheck/ok', 'cause the server to pass health checks (POST)'],
  ['/help', 'print out list of admin commands'],
  ['/ready', 'print server state, return 200 if LIVE, otherwise return 503'],
  ['/server_info', 'print server version/status information'],
  ['/stats', 'print server stats (?filter=)'],
  ['/stats/prometheus', 'print server stats in prometheus format'],
  ['/xmesh/config_status', 'the config last applied and the update last rejected, with its errors'],
];

export async function startAdminServer(source: AdminSource, options: AdminServerOptions = {}): Promise<AdminServer> {
  const started = performance.now();
  const server = createServer((req, res) => {
    handle(source, req, res, started).catch((error: unknown) => {
      if (!res.headersSent) send(res, 500, 'text/plain', `${(error as Error).message}\n`);
      else res.destroy();
    });
  });
  const host = options.host ?? '127.0.0.1';
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;
  let closing: Promise<void> | undefined;
  return {
    host,
    port,
    url: `http://${host.includes(':') ? `[${host}]` : host}:${port}`,
    close: () => (closing ??= closeServer(server)),
  };
}

async function handle(source: AdminSource, req: IncomingMessage, res: ServerResponse, started: number): Promise<void> {
  const url = new URL(req.url ?? '/', 'http://admin');
  if ((url.pathname === '/healthcheck/fail' || url.pathname === '/healthcheck/ok') && source.failHealthChecks !== undefined) {
    // Envoy's mutating admin paths take POST only.
    if (req.method !== 'POST') {
      send(res, 405, 'text/plain', 'method not allowed: use POST\n');
      return;
    }
    source.failHealthChecks(url.pathname === '/healthcheck/fail');
    send(res, 200, 'text/plain', 'OK\n');
    return;
  }
  if (req.method !== 'GET' && req.method !== 'HEAD') {
    send(res, 405, 'text/plain', 'method not allowed\n');
    return;
  }
  switch (url.pathname) {
    case '/stats/prometheus':
      send(res, 200, source.prometheus.contentType, await source.prometheus.metrics());
      return;
    case '/stats': {
      const filter = compileStatsFilter(url.searchParams.get('filter'));
      if (typeof filter === 'string') {
        send(res, 400, 'text/plain', `${filter}\n`);
        return;
      }
      send(res, 200, 'text/plain; charset=utf-8', envoyStatsText(source.store, filter));
      return;
    }
    case '/config_dump': {
      const resource = url.searchParams.get('resource');
      const mask = url.searchParams.get('mask');
      const result = source.configDump({
        ...(resource === null || resource === '' ? {} : { resource }),
        ...(mask === null ? {} : { mask }),
        includeEds: url.searchParams.has('include_eds'),
      });
      if (result.ok) send(res, 200, 'application/json', `${JSON.stringify(result.dump, null, 2)}\n`);
      else send(res, result.status, 'text/plain', `${result.message}\n`);
      return;
    }
    case '/xmesh/config_status':
      send(res, 200, 'application/json', `${JSON.stringify(source.configStatus(), null, 2)}\n`);
      return;
    case '/clusters':
      if (url.searchParams.get('format') === 'json') send(res, 200, 'application/json', `${JSON.stringify(clustersJson(source.clusters()), null, 2)}\n`);
      else send(res, 200, 'text/plain; charset=utf-8', clustersText(source.clusters()));
      return;
    case '/server_info':
      send(res, 200, 'application/json', `${JSON.stringify(serverInfo(source, started), null, 2)}\n`);
      return;
    case '/help':
    case '/':
      send(res, 200, 'text/plain; charset=utf-8', `admin commands are:\n${HELP.map(([path, what]) => `  ${path}: ${what}`).join('\n')}\n`);
      return;
    case '/ready': {
      const state = serverState(source);
      send(res, state === 'LIVE' ? 200 : 503, 'text/plain', `${state}\n`);
      return;
    }
    default:
      send(res, 404, 'text/plain', `invalid path. admin commands are:\n${HELP.map(([path, what]) => `  ${path}: ${what}`).join('\n')}\n`);
  }
}

/** Envoy's `/clusters?format=json`: `envoy.admin.v3.Clusters` as proto3 JSON (false booleans and zero values left out, as Envoy prints them). */
export function clustersJson(clusters: readonly ClusterStatus[]): unknown {
  return {
    cluster_statuses: clusters.map((c) => ({
      name: c.name,
      ...(c.addedViaApi === true ? { added_via_api: true } : {}),
      host_statuses: c.hosts.map(hostJson),
      observability_name: c.name,
      ...(c.edsServiceName === undefined ? {} : { eds_service_name: c.edsServiceName }),
    })),
  };
}

/** Flags of `health_flags` → HostHealthStatus fields. */
const HEALTH_FIELDS: Readonly<Record<string, string>> = {
  failed_active_hc: 'failed_active_health_check',
  failed_outlier_check: 'failed_outlier_check',
  degraded_active_hc: 'failed_active_degraded_check',
  pending_dynamic_removal: 'pending_dynamic_removal',
  pending_active_hc: 'pending_active_hc',
  excluded_via_immediate_hc_fail: 'excluded_via_immediate_hc_fail',
  active_hc_timeout: 'active_hc_timeout',
};

function hostJson(h: HostStatus): unknown {
  const health: Record<string, unknown> = {};
  for (const flag of h.healthFlags.split('/')) {
    const field = HEALTH_FIELDS[flag];
    if (field !== undefined) health[field] = true;
  }
  health.eds_health_status = h.edsHealthStatus ?? 'UNKNOWN';
  const at = h.address.lastIndexOf(':');
  const host = h.address.slice(0, at).replace(/^\[(.*)\]$/, '$1');
  const stats = [
    ...Object.entries(h.counters ?? {}).map(([name, value]) => ({ name, value: String(value) })),
    { type: 'GAUGE', name: 'rq_active', value: String(h.rqActive) },
  ];
  const locality = { ...(h.region ? { region: h.region } : {}), ...(h.zone ? { zone: h.zone } : {}), ...(h.subZone ? { sub_zone: h.subZone } : {}) };
  return {
    address: { socket_address: { address: host, port_value: Number(h.address.slice(at + 1)) } },
    stats,
    health_status: health,
    weight: h.weight,
    ...(h.hostname ? { hostname: h.hostname } : {}),
    ...(h.priority > 0 ? { priority: h.priority } : {}),
    ...(Object.keys(locality).length > 0 ? { locality } : {}),
  };
}

/** Envoy's server state: DRAINING (draining, or failing health checks), LIVE once ready, else PRE_INITIALIZING. */
function serverState(source: AdminSource): 'DRAINING' | 'LIVE' | 'PRE_INITIALIZING' {
  return source.draining?.() === true ? 'DRAINING' : source.ready() ? 'LIVE' : 'PRE_INITIALIZING';
}

/** `envoy.admin.v3.ServerInfo`. */
function serverInfo(source: AdminSource, started: number): unknown {
  const uptime = `${Math.floor((performance.now() - started) / 1000)}s`;
  const state = serverState(source);
  const node = source.node?.();
  return {
    version: `xmesh/${VERSION}`,
    state,
    uptime_current_epoch: uptime,
    uptime_all_epochs: uptime,
    hot_restart_version: 'disabled',
    command_line_options: {},
    ...(node === undefined ? {} : { node }),
  };
}

/** Envoy's `/clusters` text: `cluster::host:port::field::value`. */
export function clustersText(clusters: readonly ClusterStatus[]): string {
  const lines: string[] = [];
  for (const c of clusters) {
    for (const h of c.hosts) {
      const at = `${c.name}::${h.address}::`;
      lines.push(`${at}health_flags::${h.healthFlags}`, `${at}weight::${h.weight}`, `${at}priority::${h.priority}`,
        `${at}zone::${h.zone}`, `${at}rq_active::${h.rqActive}`, `${at}ejected::${h.ejected}`);
    }
  }
  return lines.length === 0 ? '' : `${lines.join('\n')}\n`;
}

function send(res: ServerResponse, status: number, contentType: string, body: string): void {
  res.writeHead(status, { 'content-type': contentType, 'content-length': Buffer.byteLength(body) });
  res.end(body);
}

function closeServer(server: Server): Promise<void> {
  return new Promise((resolve) => {
    server.close(() => resolve());
    server.closeAllConnections();
  });
}
