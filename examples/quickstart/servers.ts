/**
 * The quickstart's upstreams: three gRPC echo servers (`echo-a`, `echo-b`, `echo-c`) and one HTTP
 * server (`web`), all on 127.0.0.1. Run alone, it listens on the ports of `mesh.yaml`
 * (50051-50053 and 8080, or `QUICKSTART_PORTS=a,b,c,web`) until interrupted.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { pathToFileURL } from 'node:url';
import { startEchoServer, type RunningEchoServer } from './echo-service.js';

export const ECHO_SERVER_NAMES = ['echo-a', 'echo-b', 'echo-c'] as const;

/** The ports written in `mesh.yaml`. */
export const DEFAULT_PORTS: ServerPorts = { echo: [50051, 50052, 50053], web: 8080 };

export interface ServerPorts {
  /** Ports of echo-a, echo-b, echo-c; 0 = any free port. */
  echo: readonly [number, number, number];
  web: number;
}

export interface ServerAddress {
  readonly name: string;
  /** `127.0.0.1:<port>` */
  readonly address: string;
  readonly port: number;
}

export interface QuickstartServers {
  readonly echo: readonly ServerAddress[];
  readonly web: ServerAddress;
  close(): Promise<void>;
}

/** Starts the four servers; ports default to 0 (any free port). */
export async function startServers(ports: ServerPorts = { echo: [0, 0, 0], web: 0 }): Promise<QuickstartServers> {
  const started: RunningEchoServer[] = [];
  try {
    for (const [i, name] of ECHO_SERVER_NAMES.entries()) started.push(await startEchoServer(name, ports.echo[i] ?? 0));
    const web = await startWebServer('web', ports.web);
    return {
      echo: started.map(({ name, address, port }) => ({ name, address, port })),
      web: { name: 'web', address: web.address, port: web.port },
      close: async () => {
        await Promise.all([...started.map((s) => s.close()), web.close()]);
      },
    };
  } catch (err) {
    await Promise.all(started.map((s) => s.close()));
    throw err;
  }
}

/** A plain HTTP server answering every request with JSON naming itself, the path and the Host header. */
async function startWebServer(name: string, port: number) {
  let address = '';
  const server: Server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const body = JSON.stringify({ server: `${name}@${address}`, method: req.method, path: req.url, host: req.headers.host });
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
    res.end(body);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve());
  });
  const bound = (server.address() as AddressInfo).port;
  address = `127.0.0.1:${bound}`;
  return {
    address,
    port: bound,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** Parses `a,b,c,web` into ports; throws on anything else. */
export function parsePorts(text: string): ServerPorts {
  const parts = text.split(',').map((p) => Number(p.trim()));
  if (parts.length !== 4 || parts.some((p) => !Number.isInteger(p) || p < 0 || p > 65535)) {
    throw new Error(`expected four ports "a,b,c,web", got "${text}"`);
  }
  const [a = 0, b = 0, c = 0, web = 0] = parts;
  return { echo: [a, b, c], web };
}

async function main(): Promise<void> {
  const env = process.env['QUICKSTART_PORTS'];
  const servers = await startServers(env === undefined ? DEFAULT_PORTS : parsePorts(env));
  for (const s of [...servers.echo, servers.web]) console.log(`${s.name.padEnd(7)} listening on ${s.address}`);
  console.log('Ctrl-C to stop');
  const stop = () => void servers.close().then(() => process.exit(0));
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main().catch((err: unknown) => {
    console.error(err);
    process.exit(1);
  });
}
