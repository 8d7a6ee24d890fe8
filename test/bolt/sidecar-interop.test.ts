/**
 * Interop (b): a stock `sofa-rpc-node` client → the xmesh sidecar's Bolt listener → stock providers.
 * The sidecar multiplexes callers' ids onto its own upstream connection, answers heartbeats and
 * passes content bytes through untouched; hostile bytes close only the connection that sent them.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { createRequire } from 'node:module';
import { startSidecar, type Sidecar } from '@xmesh/sidecar';
import { allTo, boltConfig } from '../support/bolt-config.js';
import { HELLO_SERVICE, PROTO_SERVICE, startProvider, stockClient, type SofaProvider, type StockClient } from '../support/sofa.js';

const require = createRequire(import.meta.url);
// eslint-disable-next-line @typescript-eslint/no-explicit-any
const boltProtocol = require('sofa-bolt-node') as any;

let provider: SofaProvider;
let sidecar: Sidecar;
let client: StockClient;
let boltAddress: string;

before(async () => {
  provider = await startProvider({ name: 'p1', protobuf: true });
  sidecar = await startSidecar({
    config: boltConfig({
      virtualHosts: [
        { name: 'hello', domains: [HELLO_SERVICE, PROTO_SERVICE], routes: [{ match: { prefix: '/' }, route: { cluster: 'providers' } }] },
      ],
      clusters: { providers: [provider.address] },
    }),
    listen: '127.0.0.1:0',
    admin: false,
  });
  const [bound] = sidecar.boltAddresses;
  boltAddress = `127.0.0.1:${bound!.port}`;
  client = stockClient();
});

after(async () => {
  await client.close();
  await sidecar.close();
  await provider.close();
});

test('the sidecar serves a Bolt listener for the listener the config marks', () => {
  assert.equal(sidecar.boltAddresses.length, 1);
  assert.equal(sidecar.boltAddresses[0]!.listener, 'sofa');
});

test('stock client → sidecar → stock provider: Hessian2 and protobuf calls succeed', async () => {
  const hello = await client.consumer({ interfaceName: HELLO_SERVICE, serverHost: boltAddress });
  assert.equal(await hello.invoke('sayHello', ['sidecar']), 'hello sidecar from p1');
  const proto = await client.consumer({ interfaceName: PROTO_SERVICE, serverHost: boltAddress, codecType: 'protobuf' });
  const reply = await proto.invoke('echoObj', [{ name: 'sidecar', group: 'A' }]) as { message: string };
  assert.equal(reply.message, 'hello sidecar (A) from p1');
});

test('a provider exception reaches the stock client as the provider wrote it', async () => {
  const hello = await client.consumer({ interfaceName: HELLO_SERVICE, serverHost: boltAddress });
  await assert.rejects(hello.invoke('fail', ['bad input']), (error: Error) => /bad input/.test(error.message));
});

test('500 concurrent calls from one stock connection are multiplexed and each answer finds its caller', async () => {
  const hello = await client.consumer({ interfaceName: HELLO_SERVICE, serverHost: boltAddress });
  const results = await Promise.all(Array.from({ length: 500 }, (_, i) => hello.invoke('sayHello', [`c${i}`], { responseTimeout: 30_000 })));
  results.forEach((r, i) => assert.equal(r, `hello c${i} from p1`));
});

test('a service without a route is answered with an error, not dropped', async () => {
  const other = await client.consumer({ interfaceName: 'com.xmesh.test.Unknown', serverHost: boltAddress });
  // The client would wait 30 s: an answer well before that, and not the client's own timeout, is the sidecar's.
  const started = Date.now();
  await assert.rejects(other.invoke('anything', [], { responseTimeout: 30_000 }), (error: Error) => error instanceof Error && !/timeout/i.test(`${error.name} ${error.message}`));
  assert.ok(Date.now() - started < 15_000, 'answered, not left to the client timeout');
});

test('heartbeats from a client are answered by the sidecar (stock codec on a raw socket)', async () => {
  const [host, port] = boltAddress.split(':');
  const socket = connect(Number(port), host!);
  socket.on('error', () => undefined);
  const encoder = boltProtocol.encoder({ codecType: 'hessian2' });
  const decoder = boltProtocol.decoder({});
  encoder.pipe(socket);
  socket.pipe(decoder);
  const ack = new Promise<{ packetId: number }>((resolve) => decoder.once('heartbeat_ack', resolve));
  encoder.writeHeartbeat(42, { timeout: 3000, clientUrl: 'test' });
  const decoded = await ack;
  socket.destroy();
  assert.equal(decoded.packetId, 42);
});

test('garbage on one connection closes that connection; the sidecar and other connections go on', async () => {
  const [host, port] = boltAddress.split(':');
  for (const garbage of [Buffer.from('GET / HTTP/1.1\r\nHost: x\r\n\r\n'), Buffer.from([1, 1, 0, 1, 1, 0, 0, 0, 1, 1, 0, 0, 0, 0, 0x7f, 0xff, 0x7f, 0xff, 0x7f, 0xff, 0xff, 0xff]), Buffer.from([2, 9, 9])]) {
    const socket = connect(Number(port), host!);
    socket.on('error', () => undefined);
    const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
    socket.write(garbage);
    await closed;
  }
  const hello = await client.consumer({ interfaceName: HELLO_SERVICE, serverHost: boltAddress });
  assert.equal(await hello.invoke('whoami', []), 'p1');
});

test('oneway requests (stock codec) are forwarded and never answered; an undeliverable one is counted', async () => {
  const [host, port] = boltAddress.split(':');
  const socket = connect(Number(port), host!);
  socket.on('error', () => undefined);
  const encoder = boltProtocol.encoder({ codecType: 'hessian2' });
  encoder.pipe(socket);
  let answered = 0;
  socket.on('data', () => answered++);
  const before = provider.calls.get('sayHello') ?? 0;
  const oneway = (service: string, id: number) =>
    encoder.writeRequest(id, { oneway: true, serverSignature: `${service}:1.0`, methodName: 'sayHello', args: ['oneway'], timeout: 3000, targetAppName: '', requestProps: { service: `${service}:1.0` } });
  oneway(HELLO_SERVICE, 7);
  const end = Date.now() + 10_000;
  while ((provider.calls.get('sayHello') ?? 0) === before && Date.now() < end) await new Promise((r) => setTimeout(r, 20));
  assert.equal((provider.calls.get('sayHello') ?? 0) - before, 1, 'the provider got the oneway call');
  const dropped = sidecar.stats.bolt_oneway_dropped;
  oneway('com.xmesh.test.Unknown', 8);
  while (sidecar.stats.bolt_oneway_dropped === dropped && Date.now() < end) await new Promise((r) => setTimeout(r, 20));
  assert.equal(sidecar.stats.bolt_oneway_dropped, dropped + 1, 'a oneway call without a route is counted as dropped');
  await new Promise((r) => setTimeout(r, 200));
  assert.equal(answered, 0, 'nothing is ever answered to a oneway request');
  socket.destroy();
});

test('a client that does not read its answers is not read from either (bounded buffering); once it reads, every answer arrives', async () => {
  const small = await startSidecar({
    config: boltConfig({ virtualHosts: [allTo('providers', [HELLO_SERVICE])], clusters: { providers: [provider.address] } }),
    listen: '127.0.0.1:0',
    admin: false,
    bolt: { maxBuffered: 64 * 1024 },
  });
  const socket = connect(small.boltAddresses[0]!.port, '127.0.0.1');
  socket.on('error', () => undefined);
  try {
    await new Promise<void>((resolve) => socket.once('connect', () => resolve()));
    socket.pause();
    const encoder = boltProtocol.encoder({ codecType: 'hessian2' });
    encoder.pipe(socket);
    const payload = 'x'.repeat(1024 * 1024);
    const before = provider.calls.get('echo') ?? 0;
    const handled = () => (provider.calls.get('echo') ?? 0) - before;
    // One request at a time, each given 5 s to reach the provider: 40 answers of 1 MiB are more than
    // the kernel's socket buffers hold, so at some point the sidecar must stop reading.
    const total = 40;
    let sent = 0;
    while (sent < total) {
      sent++;
      encoder.writeRequest(sent, { serverSignature: `${HELLO_SERVICE}:1.0`, methodName: 'echo', args: [payload], timeout: 60_000, targetAppName: '', requestProps: { service: `${HELLO_SERVICE}:1.0` } });
      const until = Date.now() + 5_000;
      while (handled() < sent && Date.now() < until) await new Promise((r) => setTimeout(r, 20));
      if (handled() < sent) break;
    }
    assert.ok(sent < total, `the sidecar stopped reading requests: all ${total} reached the provider`);
    for (let id = sent + 1; id <= total; id++) {
      encoder.writeRequest(id, { serverSignature: `${HELLO_SERVICE}:1.0`, methodName: 'echo', args: [payload], timeout: 60_000, targetAppName: '', requestProps: { service: `${HELLO_SERVICE}:1.0` } });
    }
    const decoder = boltProtocol.decoder({});
    let answers = 0;
    decoder.on('response', () => answers++);
    socket.pipe(decoder);
    socket.resume();
    const end = Date.now() + 60_000;
    while (answers < total && Date.now() < end) await new Promise((r) => setTimeout(r, 50));
    assert.equal(answers, total);
  } finally {
    socket.destroy();
    await small.close();
  }
});
