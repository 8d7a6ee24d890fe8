/**
 * The opt-in admin server, with Envoy's paths: `/config_dump`, `/clusters`, `/stats`,
 * `/stats/prometheus`, `/ready`. Loopback by default; it serves reads only.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { envoyStatsText } from './envoy-text.js';
import { compileStatsFilter } from './stats-filter.js';
import type { PrometheusExporter } from './prometheus.js';
import type { StatStore } from './stat-store.js';

export interface HostStatus {
  /** `host:port`. */
  readonly address: string;
  /** Envoy's `health_flags`: `healthy`, or `/failed_eds_health`, `/failed_outlier_check`, ... joined. */
  readonly healthFlags: string;
  readonly weight: number;
  readonly priority: number;
  readonly zone: string;
  readonly rqActive: number;
  readonly ejected: boolean;
}

export interface ClusterStatus {
  readonly name: string;
  readonly hosts: readonly HostStatus[];
}

/** What the admin server shows; the mesh implements it. */
export interface AdminSource {
  /** Read on every `/stats` request (a getter may refresh values first). */
  readonly store: StatStore;
  readonly prometheus: Pick<PrometheusExporter, 'metrics' | 'contentType'>;
  /** JSON-serializable: the applied snapshot and version, the last rejected update with its errors. */
  configDump(): unknown;
  clusters(): readonly ClusterStatus[];
  /** True once a config applied and its clusters resolved. */
  ready(): boolean;
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

export async function startAdminServer(source: AdminSource, options: AdminServerOptions = {}): Promise<AdminServer> {
  const server = createServer((req, res) => {
    handle(source, req, res).catch((error: unknown) => {
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

async function handle(source: AdminSource, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const url = new URL(req.url ?? '/', 'http://admin');
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
    case '/config_dump':
      send(res, 200, 'application/json', `${JSON.stringify(source.configDump(), null, 2)}\n`);
      return;
    case '/clusters':
      if (url.searchParams.get('format') === 'json') send(res, 200, 'application/json', `${JSON.stringify({ cluster_statuses: source.clusters() }, null, 2)}\n`);
      else send(res, 200, 'text/plain; charset=utf-8', clustersText(source.clusters()));
      return;
    case '/ready': {
      const ready = source.ready();
      send(res, ready ? 200 : 503, 'text/plain', ready ? 'LIVE\n' : 'PRE_INITIALIZING\n');
      return;
    }
    default:
      send(res, 404, 'text/plain', 'not found: try /config_dump, /clusters, /stats, /stats/prometheus, /ready\n');
  }
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
