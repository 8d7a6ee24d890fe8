// The ClientHello reader that chooses filter chains: a real ClientHello from node:tls gives its SNI and ALPN; any
// prefix of it is `incomplete`; hostile bytes are `invalid` (or incomplete while short), never an exception.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type AddressInfo } from 'node:net';
import { connect as connectTls } from 'node:tls';
import { randomBytes } from 'node:crypto';
import { MAX_CLIENT_HELLO_BYTES, parseClientHello } from './client-hello.js';

/** The first bytes a stock node:tls client sends (its ClientHello). */
async function clientHelloOf(options: { servername?: string; ALPNProtocols?: string[] }): Promise<Buffer> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  try {
    const first = new Promise<Buffer>((resolve) => server.once('connection', (socket) => {
      socket.on('error', () => undefined);
      socket.once('data', (chunk: Buffer) => {
        resolve(chunk);
        socket.destroy();
      });
    }));
    const client = connectTls({ host: '127.0.0.1', port: (server.address() as AddressInfo).port, rejectUnauthorized: false, ...options });
    client.on('error', () => undefined);
    const bytes = await first;
    client.destroy();
    return bytes;
  } finally {
    server.close();
  }
}

test('SNI (lower-cased) and ALPN in order from a node:tls ClientHello; none when the client sends none', async () => {
  const hello = await clientHelloOf({ servername: 'API.Example.com', ALPNProtocols: ['h2', 'http/1.1'] });
  assert.deepEqual(parseClientHello(hello), { serverName: 'api.example.com', alpn: ['h2', 'http/1.1'] });
  assert.deepEqual(parseClientHello(await clientHelloOf({})), { serverName: '', alpn: [] });
  for (let cut = 0; cut < hello.length; cut += 7) assert.equal(parseClientHello(hello.subarray(0, cut)), 'incomplete', `prefix ${cut}`);
});

test('hostile bytes: never an exception; not TLS is invalid; a record that never ends is invalid past the bound', async () => {
  const hello = await clientHelloOf({ servername: 'a.test', ALPNProtocols: ['h2'] });
  assert.equal(parseClientHello(Buffer.from('GET / HTTP/1.1\r\n\r\n')), 'invalid');
  for (let i = 0; i < 2000; i++) {
    const mutated = Buffer.from(hello);
    for (let k = 0; k < 4; k++) mutated[Math.floor(Math.random() * mutated.length)] = Math.floor(Math.random() * 256);
    const result = parseClientHello(mutated);
    assert.ok(result === 'incomplete' || result === 'invalid' || typeof result.serverName === 'string');
    const noise = Buffer.concat([Buffer.from([0x16, 0x03, 0x01]), randomBytes(Math.floor(Math.random() * 64))]);
    parseClientHello(noise);
  }
  // Records of 16 KiB that never complete the message: refused once the bound is read.
  const huge = Buffer.alloc(MAX_CLIENT_HELLO_BYTES + 64);
  huge.set([0x16, 0x03, 0x01, 0x40, 0x00, 0x01, 0xff, 0xff, 0xff]);
  assert.equal(parseClientHello(huge), 'invalid');
});
