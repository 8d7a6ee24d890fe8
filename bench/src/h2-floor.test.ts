// The h2-floor reference client against a raw node:http2 gRPC server: an OK reply is decoded, a
// trailers-only error and a non-OK trailer status reject the call.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Http2Server } from 'node:http2';
import type { AddressInfo } from 'node:net';
import { h2FloorClient } from './h2-floor.js';

let server: Http2Server;
let port = 0;
const decoded: string[] = [];

before(async () => {
  server = createServer();
  server.on('stream', (stream, headers) => {
    stream.resume();
    stream.on('end', () => {
      if (headers[':path'] === '/pkg.Svc/Unknown') {
        stream.respond({ ':status': 200, 'content-type': 'application/grpc', 'grpc-status': '12' }, { endStream: true });
        return;
      }
      const failing = headers[':path'] === '/pkg.Svc/Fail';
      stream.respond({ ':status': 200, 'content-type': 'application/grpc' }, { waitForTrailers: true });
      stream.on('wantTrailers', () => stream.sendTrailers({ 'grpc-status': failing ? '14' : '0' }));
      stream.end(Buffer.from([0, 0, 0, 0, 2, 0x68, 0x69]));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  port = (server.address() as AddressInfo).port;
});

after(() => new Promise<void>((resolve) => server.close(() => resolve())));

function client(path: string) {
  return h2FloorClient(port, { path, requestSerialize: (m) => Buffer.from(String(m)), responseDeserialize: (b) => decoded.push(b.toString()) });
}

test('an OK reply is decoded; error statuses, trailers-only or not, reject', async () => {
  const ok = client('/pkg.Svc/Echo');
  await ok.call('x')();
  assert.deepEqual(decoded, ['hi']);
  const unknown = client('/pkg.Svc/Unknown');
  await assert.rejects(unknown.call('x')(), /grpc-status 12/);
  const failing = client('/pkg.Svc/Fail');
  await assert.rejects(failing.call('x')(), /grpc-status 14/);
  for (const c of [ok, unknown, failing]) c.close();
});
