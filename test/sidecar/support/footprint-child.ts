// A sidecar forwarding h2c and gRPC to a node:http2 upstream, in a process of its own: after the
// calls it prints (one JSON line) how many files of each package from node_modules this process
// loaded, and whether Node loaded its own bundled undici, so the test can check the sidecar loads
// only what it uses.
import { createRequire } from 'node:module';
import { connect, createServer } from 'node:http2';
import type { AddressInfo } from 'node:net';
import { startSidecar } from '@xmesh/sidecar';
import { bootstrap } from '../../support/mesh-config.js';

/** The package a loaded file belongs to (`@scope/name` or `name`: the segment after its last `node_modules/`), or undefined. */
function packageOf(file: string): string | undefined {
  const path = file.replace(/\\/g, '/');
  const at = path.lastIndexOf('/node_modules/');
  if (at < 0) return undefined;
  const [first, second] = path.slice(at + '/node_modules/'.length).split('/');
  return first?.startsWith('@') ? `${first}/${second}` : first;
}

async function main(): Promise<void> {
  const upstream = createServer();
  upstream.on('stream', (stream, headers) => {
    stream.on('error', () => undefined);
    stream.resume();
    const grpc = headers['content-type'] === 'application/grpc';
    stream.respond({ ':status': 200, ...(grpc ? { 'content-type': 'application/grpc' } : {}) }, grpc ? { waitForTrailers: true } : {});
    if (grpc) stream.on('wantTrailers', () => stream.sendTrailers({ 'grpc-status': '0' }));
    stream.end(grpc ? Buffer.from([0, 0, 0, 0, 0]) : 'ok');
  });
  await new Promise<void>((resolve) => upstream.listen(0, '127.0.0.1', resolve));
  const port = (upstream.address() as AddressInfo).port;
  const config = bootstrap({ routes: [{ cluster: 'h2' }], clusters: { h2: [`127.0.0.1:${port}`] }, http2: ['h2'] });
  const sidecar = await startSidecar({ config, listen: '127.0.0.1:0', admin: false });
  const session = connect(`http://${sidecar.target}`);
  session.on('error', () => undefined);
  const statuses: string[] = [];
  for (const grpc of [false, true, false, true]) {
    const headers = grpc ? { ':method': 'POST', ':path': '/echo.Echo/Unary', 'content-type': 'application/grpc', te: 'trailers' } : { ':path': '/plain' };
    statuses.push(await new Promise<string>((resolve) => {
      const stream = session.request(headers);
      let status = '';
      stream.on('response', (h) => (status = String(h[':status'])));
      stream.on('trailers', (t) => (status += ` grpc-status ${String(t['grpc-status'])}`));
      stream.on('error', (e: Error) => resolve(e.message));
      stream.on('close', () => resolve(status));
      stream.resume();
      stream.end(grpc ? Buffer.from([0, 0, 0, 0, 0]) : undefined);
    }));
  }
  session.close();
  await sidecar.close();
  upstream.close();
  const cache = createRequire(import.meta.url).cache;
  const files: Record<string, number> = {};
  for (const name of Object.keys(cache).map(packageOf)) if (name !== undefined) files[name] = (files[name] ?? 0) + 1;
  // Node's own bundled undici (behind node:http's lazy WebSocket exports and the fetch globals).
  const nodeUndici = process.moduleLoadList.some((name) => name.includes('internal/deps/undici'));
  process.stdout.write(`${JSON.stringify({ statuses, files, nodeUndici })}\n`);
}

main().catch((error: unknown) => {
  process.stderr.write(`${String((error as Error).stack ?? error)}\n`);
  process.exit(1);
});
