// The control plane against clients that misbehave on the wire: undecodable requests, resets with every
// HTTP/2 error code, a socket cut in the middle of a large response, a client that never reads, one that
// asks for too much. After each, the process lives, no session is left behind, and a real ADS client on
// the same server receives the next snapshot.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { loadEnvoyProtos, TypeUrl } from '@xmesh/xds';
import { adsWire, SOTW_METHOD_PATH, DELTA_METHOD_PATH, XdsClient } from '@xmesh/discovery';
import { ControlPlane, MAX_NAMES_PER_TYPE, MAX_TYPES_PER_STREAM, silentLogger, type ResponseEvent } from './index.js';
import { echoResources, ECHO_LISTENER } from '../../../test/xds/echo-resources.js';
import { grpcFrame, H2_ERROR_CODES, rawGrpcCall, type RawGrpcCall } from '../../../test/support/raw-grpc.js';

const protos = loadEnvoyProtos();
const wire = adsWire(protos);
const RESOURCE_EXHAUSTED = 8;
/** Endpoints per snapshot: the EDS response (~600 KB) is far larger than an HTTP/2 window, so it is still being written when a test cuts in. */
const ENDPOINTS = 20_000;

async function waitFor(condition: () => boolean, what: string, ms = 20_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe('the control plane against hostile clients', () => {
  const plane = new ControlPlane({ protos, logger: silentLogger });
  let port = 0;
  let version = 0;
  let good: XdsClient;

  /** Serves a new version whose endpoints all differ from the last one's. */
  const serveNext = () => {
    version += 1;
    const ports = Array.from({ length: ENDPOINTS }, (_, i) => 1024 + ((i + version * 7) % 60_000));
    plane.setSnapshot(`v${version}`, echoResources({ endpoints: { a: ports }, split: { a: 1 } }));
  };

  /** A new snapshot reaches the well-behaved client, and only its stream is left open. */
  const othersStillServed = async () => {
    serveNext();
    await waitFor(() => good.snapshot?.version.includes(`ClusterLoadAssignment=v${version}`) ?? false, `the good client to apply v${version}`);
    await waitFor(() => plane.streamCount === 1, 'sessions of hostile streams to end');
  };

  const sotw = (): RawGrpcCall => rawGrpcCall(port, SOTW_METHOD_PATH);
  const subscribeEds = (call: RawGrpcCall) =>
    call.stream.write(grpcFrame(wire.StreamAggregatedResources.requestSerialize({ node: { id: 'hostile' }, type_url: TypeUrl.ClusterLoadAssignment, resource_names: ['a'] })));

  before(async () => {
    serveNext();
    port = await plane.listen(0);
    good = new XdsClient({
      protos,
      bootstrap: { xds_servers: [{ server_uri: `127.0.0.1:${port}`, channel_creds: [{ type: 'insecure' }] }], node: { id: 'good' } },
      listeners: [ECHO_LISTENER],
    }).start();
    await good.ready();
  });
  after(async () => {
    await good.close();
    await plane.close();
  });

  test('requests that do not decode end their stream with a gRPC status; nothing else is disturbed', async () => {
    const attacks: [string, Buffer][] = [
      ['invalid protobuf', grpcFrame(Buffer.from([0xff, 0xff, 0xff, 0xff, 0x0f, 1, 2, 3]))],
      ['a 4 GB length prefix', Buffer.from([0, 0xff, 0xff, 0xff, 0xff, 1, 2, 3])],
      ['a compressed message without grpc-encoding', grpcFrame(Buffer.from([1, 2, 3]), true)],
    ];
    for (const [what, bytes] of attacks) {
      const call = sotw();
      call.stream.write(bytes);
      const status = await call.closed;
      call.close();
      assert.ok(status !== undefined && status !== 0, `${what}: ended with grpc-status ${status}`);
      await othersStillServed();
    }
    const truncated = sotw();
    truncated.stream.end(grpcFrame(Buffer.alloc(100)).subarray(0, 50)); // half a message, then end of stream
    await truncated.closed;
    truncated.close();
    await othersStillServed();
  });

  test('a reset with each HTTP/2 error code while a large response is being written', async () => {
    for (const { name, code } of H2_ERROR_CODES) {
      const call = sotw();
      subscribeEds(call);
      await call.nextData();
      call.stream.close(code);
      await call.closed;
      call.close();
      await othersStillServed().catch((error: Error) => assert.fail(`after RST_STREAM ${name}: ${error.message}`));
    }
  });

  test('a connection cut in the middle of a response', async () => {
    for (let i = 0; i < 3; i++) {
      const call = sotw();
      subscribeEds(call);
      await call.nextData();
      call.socket.destroy();
      await othersStillServed();
    }
  });

  test('a client that never reads costs one response per type, however many snapshots follow', async () => {
    const responses: ResponseEvent[] = [];
    const onResponse = (e: ResponseEvent) => responses.push(e);
    plane.on('response', onResponse);
    const call = sotw();
    call.stream.pause();
    try {
      subscribeEds(call);
      await waitFor(() => plane.streamCount === 2 && responses.some((r) => r.nodeId === 'hostile'), 'the stuck stream to get its first response');
      const stuck = responses.find((r) => r.nodeId === 'hostile')!.streamId;
      for (let i = 0; i < 10; i++) {
        serveNext();
        await waitFor(() => good.snapshot?.version.includes(`ClusterLoadAssignment=v${version}`) ?? false, `the good client to apply v${version}`);
      }
      const toStuck = responses.filter((r) => r.streamId === stuck).length;
      assert.equal(toStuck, 1, 'later snapshots wait for the first response to leave, and are merged');
    } finally {
      plane.off('response', onResponse);
      call.close();
    }
    await othersStillServed();
  });

  test('a stream asking for too many types or names is ended with RESOURCE_EXHAUSTED', async () => {
    const types = sotw();
    for (let i = 0; i <= MAX_TYPES_PER_STREAM; i++) {
      types.stream.write(grpcFrame(wire.StreamAggregatedResources.requestSerialize({ node: { id: 'hostile' }, type_url: `type.googleapis.com/x.T${i}` })));
    }
    assert.equal(await types.closed, RESOURCE_EXHAUSTED);
    types.close();

    const names = rawGrpcCall(port, DELTA_METHOD_PATH);
    const subscribe = Array.from({ length: MAX_NAMES_PER_TYPE / 4 }, (_, i) => `n${i}`);
    for (let i = 0; i < 5; i++) {
      names.stream.write(grpcFrame(wire.DeltaAggregatedResources.requestSerialize({
        node: { id: 'hostile' }, type_url: TypeUrl.ClusterLoadAssignment, resource_names_subscribe: subscribe.map((n) => `${i}-${n}`),
      })));
    }
    assert.equal(await names.closed, RESOURCE_EXHAUSTED);
    names.close();
    await othersStillServed();
  });
});
