import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { createServer, request as httpRequest, type Server } from 'node:http';
import { startSidecar, type Sidecar } from './sidecar.js';
import { oneClusterBootstrap } from '../test/one-cluster.js';

const BODY = Buffer.from(Array.from({ length: 5 * 1024 * 1024 + 3 }, (_, i) => (i * 7) % 251));

/** An HTTP/1.1 upstream echoing the request body; `/endless` streams until the client goes away, then records it. */
async function startUpstream(): Promise<{ server: Server; port: number; aborted: Promise<void> }> {
  let markAborted: () => void = () => undefined;
  const aborted = new Promise<void>((resolve) => (markAborted = resolve));
  const server = createServer((req, res) => {
    if (req.url === '/endless') {
      res.writeHead(200, { 'content-type': 'application/octet-stream' });
      const chunk = Buffer.alloc(64 * 1024, 0x65);
      const pump = (): void => {
        while (res.write(chunk));
      };
      res.on('drain', pump);
      res.on('close', markAborted);
      pump();
      return;
    }
    res.writeHead(200, { 'content-type': 'application/octet-stream' });
    req.pipe(res);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, port: (server.address() as { port: number }).port, aborted };
}

/** POSTs `BODY` over HTTP/1.1, reading the response slowly (paused between chunks) so both directions see backpressure. */
function slowEcho(target: { host: string; port: number }): Promise<{ status: number; digest: string; length: number }> {
  return new Promise((resolve, reject) => {
    const req = httpRequest({ host: target.host, port: target.port, method: 'POST', path: '/echo', headers: { host: 'h1.svc', 'content-length': BODY.length } }, (res) => {
      const hash = createHash('sha256');
      let length = 0;
      res.on('data', (chunk: Buffer) => {
        hash.update(chunk);
        length += chunk.length;
        res.pause();
        setImmediate(() => res.resume());
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, digest: hash.digest('hex'), length }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(BODY);
  });
}

test('HTTP/1.1 to an HTTP/1.1 upstream: a 5 MiB body goes both ways intact under backpressure; a client that leaves mid-response ends the upstream request', async () => {
  const upstream = await startUpstream();
  let sidecar: Sidecar | undefined;
  try {
    sidecar = await startSidecar({ config: oneClusterBootstrap('h1', upstream.port, false), listen: '127.0.0.1:0', admin: false });
    const echoed = await slowEcho(sidecar.address);
    assert.deepEqual(echoed, { status: 200, digest: createHash('sha256').update(BODY).digest('hex'), length: BODY.length });

    const req = httpRequest({ host: sidecar.address.host, port: sidecar.address.port, path: '/endless', headers: { host: 'h1.svc' } });
    const firstBytes = new Promise<void>((resolve, reject) => {
      req.on('response', (res) => res.once('data', () => resolve()));
      req.on('error', reject);
    });
    req.end();
    await firstBytes;
    req.destroy();
    await upstream.aborted;
    const deadline = Date.now() + 10_000;
    while (sidecar.stats.downstream_rq_active !== 0 && Date.now() < deadline) await new Promise((resolve) => setImmediate(resolve));
    assert.equal(sidecar.stats.downstream_rq_active, 0);
    assert.equal(sidecar.stats.downstream_rq_total, 2);
  } finally {
    await sidecar?.close();
    await new Promise<void>((resolve) => upstream.server.close(() => resolve()));
  }
});
