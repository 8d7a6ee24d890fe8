// Trace headers on the fast path, seen by a raw node:http2 server: a new trace or the caller's
// continued, and both ids sent never-indexed (HPACK) so they do not churn the header table.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import http2, { type IncomingHttpHeaders } from 'node:http2';
import type { AddressInfo } from 'node:net';
import { createMesh, type Mesh } from './index.js';
import { bootstrap } from '../../../test/support/mesh-config.js';

const PATH = '/pkg.Svc/Method';
let server: http2.Http2Server;
let mesh: Mesh;
const seen: IncomingHttpHeaders[] = [];

before(async () => {
  server = http2.createServer();
  server.on('stream', (stream, headers) => {
    seen.push(headers);
    stream.resume();
    stream.on('end', () => {
      stream.respond({ ':status': 200, 'content-type': 'application/grpc' }, { waitForTrailers: true });
      stream.on('wantTrailers', () => stream.sendTrailers({ 'grpc-status': '0' }));
      stream.end(Buffer.from([0, 0, 0, 0, 0]));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  mesh = await createMesh({ env: {}, config: bootstrap({ routes: [{ cluster: 'raw' }], clusters: { raw: [`127.0.0.1:${port}`] }, http2: ['raw'] }) });
});

after(async () => {
  await mesh.close();
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

const neverIndexed = (headers: IncomingHttpHeaders): string[] => [...((headers as { [http2.sensitiveHeaders]?: string[] })[http2.sensitiveHeaders] ?? [])].sort();

test('a call without trace context starts an unsampled trace with a request id, both never-indexed', async () => {
  const reply = await mesh.unaryClient('raw.svc:80').unary(PATH, Buffer.from('hi'));
  assert.equal(reply.length, 0);
  const headers = seen[seen.length - 1]!;
  assert.match(String(headers.traceparent), /^00-[0-9a-f]{32}-[0-9a-f]{16}-00$/);
  assert.match(String(headers['x-request-id']), /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  assert.deepEqual(neverIndexed(headers), ['traceparent', 'x-request-id']);
});

test("a caller's traceparent is continued and its request id kept; other metadata stays indexable", async () => {
  const parent = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';
  await mesh.unaryClient('raw.svc:80').unary(PATH, Buffer.from('hi'), { metadata: { traceparent: parent, 'x-request-id': 'req-7', 'x-tenant': 'a' } });
  const headers = seen[seen.length - 1]!;
  assert.match(String(headers.traceparent), /^00-4bf92f3577b34da6a3ce929d0e0e4736-(?!00f067aa0ba902b7)[0-9a-f]{16}-01$/);
  assert.equal(headers['x-request-id'], 'req-7');
  assert.equal(headers['x-tenant'], 'a');
  assert.deepEqual(neverIndexed(headers), ['traceparent', 'x-request-id']);
});
