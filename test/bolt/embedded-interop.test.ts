/**
 * Interop (a): the embedded drop-in (`MeshRpcClient`) → stock `sofa-rpc-node` providers, Hessian2
 * and protobuf: success, a provider exception, a timeout, a 1 MiB payload, 1,000 concurrent calls
 * over one connection. No test double on either side.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Socket } from 'node:net';
import { createMesh, type Mesh } from '@xmesh/client';
import { MeshRpcClient } from '@xmesh/bolt';
import { isMeshError } from '@xmesh/core';
import { BoltCodec, BoltStatus, decodeHessianResult, encodeHessianRequest } from '@xmesh/codec';
import { bootstrap } from '../support/mesh-config.js';
import { HELLO_SERVICE, PROTO_SERVICE, loadProto, startProvider, type SofaProvider } from '../support/sofa.js';

let provider: SofaProvider;
let mesh: Mesh;
let client: MeshRpcClient;
const accepted: Socket[] = [];

before(async () => {
  provider = await startProvider({ name: 'p1', protobuf: true });
  mesh = await createMesh({ config: bootstrap({ routes: [{ cluster: 'hello' }], clusters: { hello: [provider.address] } }) });
  client = new MeshRpcClient(mesh);
});

after(async () => {
  await client.close();
  await mesh.close();
  await provider.close();
  for (const s of accepted) s.destroy();
});

test('Hessian2: a call reaches the stock provider and its result comes back', async () => {
  const consumer = client.createConsumer({ interfaceName: HELLO_SERVICE });
  await consumer.ready();
  assert.equal(await consumer.invoke('sayHello', ['mesh']), 'hello mesh from p1');
  assert.deepEqual(await consumer.invoke('echo', [{ $class: 'java.util.HashMap', $: { a: 1, b: 'two' } }]), { a: 1, b: 'two' });
});

test('protobuf: the stock provider decodes the request and the reply decodes with the same proto', async () => {
  const consumer = client.createConsumer({ interfaceName: PROTO_SERVICE, codecType: 'protobuf', proto: loadProto() });
  const reply = await consumer.invoke('echoObj', [{ name: 'mesh', group: 'B' }]) as { code: number; message: string };
  assert.equal(reply.code, 200);
  assert.equal(reply.message, 'hello mesh (B) from p1');
});

test('a provider exception rejects with its message; the process and the connection live on', async () => {
  const consumer = client.createConsumer({ interfaceName: HELLO_SERVICE });
  await assert.rejects(consumer.invoke('fail', ['boom']), (error: Error) => /boom/.test(error.message));
  assert.equal(await consumer.invoke('whoami', []), 'p1');
});

test('a call past its responseTimeout ends with XMESH_TIMEOUT within bounds', async () => {
  const consumer = client.createConsumer({ interfaceName: HELLO_SERVICE });
  const started = Date.now();
  await assert.rejects(consumer.invoke('sleep', [3000], { responseTimeout: 200 }), (error: unknown) => isMeshError(error) && error.code === 'XMESH_TIMEOUT');
  assert.ok(Date.now() - started < 10_000);
});

test('a 1 MiB payload goes and comes back intact', async () => {
  const consumer = client.createConsumer({ interfaceName: HELLO_SERVICE });
  const payload = 'x'.repeat(1024 * 1024);
  const back = await consumer.invoke('echo', [payload], { responseTimeout: 20_000 });
  assert.equal((back as string).length, payload.length);
  assert.equal(back, payload);
});

test('1,000 concurrent calls over one connection all succeed', async () => {
  const consumer = client.createConsumer({ interfaceName: HELLO_SERVICE });
  const results = await Promise.all(Array.from({ length: 1000 }, (_, i) => consumer.invoke('sayHello', [`n${i}`], { responseTimeout: 30_000 })));
  results.forEach((r, i) => assert.equal(r, `hello n${i} from p1`));
  const entry = (mesh as unknown as { pool: { get(id: string): { existingAttachment(k: object): { open: number } | undefined } | undefined } }).pool.get(provider.address);
  const key = (client.bolt as unknown as { key: object }).key;
  assert.equal(entry?.existingAttachment(key)?.open, 1, 'one multiplexed connection');
});

/** A hostile provider on loopback answering every connection's first bytes with `answer`; resolves with its address. */
async function hostileProvider(answer: Buffer): Promise<{ address: string; close(): void }> {
  const bad = createServer((socket) => {
    accepted.push(socket);
    socket.on('error', () => undefined);
    socket.once('data', () => socket.write(answer));
  });
  await new Promise<void>((r) => bad.listen(0, '127.0.0.1', r));
  return { address: `127.0.0.1:${(bad.address() as { port: number }).port}`, close: () => bad.close() };
}

/** A Bolt response fixed part announcing `contentLength` bytes of content. */
function responseHead(contentLength: number): Buffer {
  const head = Buffer.alloc(20);
  head[0] = 1;
  head.writeUInt16BE(2, 2);
  head[4] = 1;
  head.writeUInt32BE(1, 5);
  head[9] = 1;
  head.writeInt32BE(contentLength, 16);
  return head;
}

test('hostile providers end the call with a typed error (not Bolt, an oversized frame, a frame cut off); other endpoints are unaffected', async () => {
  const cases: [string, Buffer, string][] = [
    ['HTTP bytes', Buffer.from('HTTP/1.1 400 Bad Request\r\n\r\n'), 'XMESH_UPSTREAM_PROTOCOL'],
    ['a 2 GiB frame', responseHead(0x7fffffff), 'XMESH_UPSTREAM_PROTOCOL'],
    ['a frame cut off, then silence', responseHead(1000).subarray(0, 12), 'XMESH_TIMEOUT'],
  ];
  for (const [name, answer, code] of cases) {
    const bad = await hostileProvider(answer);
    const other = await createMesh({ config: bootstrap({ routes: [{ cluster: 'bad' }], clusters: { bad: [bad.address] } }) });
    const otherClient = new MeshRpcClient(other);
    try {
      const started = Date.now();
      await assert.rejects(otherClient.createConsumer({ interfaceName: HELLO_SERVICE }).invoke('whoami', [], { responseTimeout: 500 }), (error: unknown) => isMeshError(error) && error.code === code, name);
      assert.ok(Date.now() - started < 10_000, name);
      assert.equal(await client.createConsumer({ interfaceName: HELLO_SERVICE }).invoke('whoami', []), 'p1', name);
    } finally {
      await otherClient.close();
      await other.close();
      bad.close();
    }
  }
});

test('the bytes API: serialized content out, the response frame back; a oneway call resolves once written and reaches the provider', async () => {
  const content = encodeHessianRequest({ service: `${HELLO_SERVICE}:1.0`, method: 'sayHello', args: ['bytes'] });
  const frame = await client.bolt.call({ service: `${HELLO_SERVICE}:1.0`, method: 'sayHello', codec: BoltCodec.HESSIAN2, content, timeoutMs: 3000 });
  assert.equal(frame.status, BoltStatus.SUCCESS);
  assert.equal(decodeHessianResult(frame.content, true).appResponse, 'hello bytes from p1');
  const before = provider.calls.get('sayHello') ?? 0;
  assert.equal(await client.bolt.call({ service: `${HELLO_SERVICE}:1.0`, method: 'sayHello', codec: BoltCodec.HESSIAN2, content, oneway: true }), null);
  const end = Date.now() + 10_000;
  while ((provider.calls.get('sayHello') ?? 0) === before && Date.now() < end) await new Promise((r) => setTimeout(r, 20));
  assert.equal((provider.calls.get('sayHello') ?? 0) - before, 1);
});
