// The ADS client against a management server that misbehaves on the wire: undecodable responses, an
// impossible length prefix, resets with every HTTP/2 error code mid-message, GOAWAY, a cut socket, an
// invalid grpc-status, a flood of responses for types nobody asked for. After each the process lives,
// the client reports the failure, reconnects with back-off and applies what the server serves next;
// another client of a real control plane in the same process keeps receiving its updates.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import http2 from 'node:http2';
import { loadEnvoyProtos, TypeUrl } from '@xmesh/xds';
import { XdsClient } from '@xmesh/discovery';
import { ControlPlane, silentLogger } from '@xmesh/control-plane';
import { FakeClock } from '../support/fake-clock.js';
import { grpcFrame, H2_ERROR_CODES } from '../support/raw-grpc.js';
import { HostileAdsServer, type StreamAct } from './hostile-ads-server.js';
import { echoListener, echoResources, echoRoutes, edsCluster, loadAssignment, ECHO_LISTENER } from './echo-resources.js';

const protos = loadEnvoyProtos();

async function waitFor(condition: () => boolean, what: string, ms = 20_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

const resourcesFor = (n: number) => [echoListener(), echoRoutes({ split: { a: 1 } }), edsCluster('a'), loadAssignment('a', [1000 + n])];
const bootstrapFor = (port: number, id: string) => ({ xds_servers: [{ server_uri: `127.0.0.1:${port}`, channel_creds: [{ type: 'insecure' }] }], node: { id } });

/** Half of a valid response message: a frame cut mid-payload. */
const halfResponse = (server: HostileAdsServer) => {
  const frame = server.responseFrame(TypeUrl.Listener, 'half');
  return frame.subarray(0, Math.floor(frame.length / 2));
};

const ACTS: { name: string; act: StreamAct; error?: RegExp }[] = [
  { name: 'an undecodable message', act: (s) => s.write(grpcFrame(Buffer.from([0xff, 0xff, 0xff, 0xff, 0x0f, 1, 2]))), error: /INTERNAL/ },
  { name: 'a 4 GB length prefix', act: (s) => s.write(Buffer.from([0, 0xff, 0xff, 0xff, 0xff, 1, 2, 3])), error: /RESOURCE_EXHAUSTED/ },
  { name: 'a compressed message without grpc-encoding', act: (s) => s.write(grpcFrame(Buffer.from([1, 2, 3]), true)) },
  ...H2_ERROR_CODES.map(({ name, code }) => ({
    name: `RST_STREAM ${name} mid-message`,
    act: ((s, server) => {
      s.write(halfResponse(server));
      setImmediate(() => s.close(code));
    }) satisfies StreamAct,
  })),
  {
    name: 'GOAWAY after response headers',
    act: (s, server) => {
      s.write(halfResponse(server));
      s.session?.goaway(http2.constants.NGHTTP2_INTERNAL_ERROR);
      setImmediate(() => s.session?.destroy());
    },
  },
  {
    name: 'the socket cut mid-message',
    act: (s, server) => {
      s.write(halfResponse(server), () => server.lastSocket?.destroy());
    },
  },
  {
    name: 'trailers with grpc-status "abc"',
    act: (s) => {
      s.removeAllListeners('wantTrailers');
      s.on('wantTrailers', () => s.sendTrailers({ 'grpc-status': 'abc' }));
      s.end();
    },
  },
];

describe('XdsClient against a hostile management server', () => {
  const server = new HostileAdsServer(protos, resourcesFor(0));
  const clock = new FakeClock();
  const connections: { connected: boolean; error?: string; retryInMs?: number }[] = [];
  const warnings: string[] = [];
  let client: XdsClient;
  const plane = new ControlPlane({ protos, logger: silentLogger });
  let bystander: XdsClient;
  let planeVersion = 0;

  before(async () => {
    const port = await server.listen();
    client = new XdsClient({ protos, bootstrap: bootstrapFor(port, 'victim'), listeners: [ECHO_LISTENER], clock, random: () => 0.5 });
    client.on('warning', (w) => warnings.push(w));
    client.on('connection', (c) => {
      connections.push(c);
      // Back-off runs on the fake clock: let each reconnect happen as soon as it is scheduled.
      if (!c.connected) setImmediate(() => clock.advance(c.retryInMs!));
    });
    client.start();
    await client.ready();

    plane.setSnapshot(`p${planeVersion}`, echoResources({ endpoints: { a: [2000] }, split: { a: 1 } }));
    const planePort = await plane.listen(0);
    bystander = new XdsClient({ protos, bootstrap: bootstrapFor(planePort, 'bystander'), listeners: [ECHO_LISTENER] }).start();
    await bystander.ready();
  });
  after(async () => {
    await client.close();
    await bystander.close();
    await plane.close();
    await server.close();
  });

  const bystanderStillServed = async () => {
    planeVersion += 1;
    plane.setSnapshot(`p${planeVersion}`, echoResources({ endpoints: { a: [2000 + planeVersion] }, split: { a: 1 } }));
    await waitFor(() => bystander.snapshot?.version.includes(`ClusterLoadAssignment=p${planeVersion}`) ?? false, 'the bystander client to apply its update');
  };

  ACTS.forEach(({ name, act, error }, i) => {
    test(`${name}: reported, reconnected with back-off, and the next config applied`, async () => {
      const version = `case-${i}`;
      server.version = version;
      server.resources = resourcesFor(i + 1);
      server.acts.push(act);
      const seen = connections.length;
      server.dropAll(); // the client's next stream meets the act
      await waitFor(() => client.snapshot?.version.includes(`Listener=${version}`) ?? false, `the client to apply ${version}`);
      const failures = connections.slice(seen).filter((c) => !c.connected);
      assert.ok(failures.length >= 2, `the drop and the act were both reported: ${JSON.stringify(failures)}`);
      for (const f of failures) {
        assert.ok(f.retryInMs !== undefined && f.retryInMs > 0, 'every reconnect waits its back-off');
        assert.ok(typeof f.error === 'string' && f.error !== '' && !f.error.includes('undefined'), `a readable reason: ${f.error}`);
      }
      if (error) assert.ok(failures.some((f) => error.test(f.error!)), `${error} among ${JSON.stringify(failures.map((f) => f.error))}`);
      await bystanderStillServed();
    });
  });

  test('a flood of responses for types nobody asked for is ignored, with one warning, and keeps no state', async () => {
    const version = 'flood';
    server.version = version;
    server.resources = resourcesFor(99);
    server.acts.push((s, srv) => {
      for (let i = 0; i < 1_000; i++) {
        const typeUrl = `type.googleapis.com/not.a.Type${i}`;
        s.write(grpcFrame(Buffer.from(protos.root.lookupType('envoy.service.discovery.v3.DiscoveryResponse').encode({ typeUrl, nonce: `${i}`, versionInfo: 'x' }).finish())));
      }
      srv.serve(s);
    });
    const warned = warnings.length;
    const seen = connections.length;
    server.dropAll();
    await waitFor(() => client.snapshot?.version.includes(`Listener=${version}`) ?? false, 'the client to apply the flood case');
    assert.equal(connections.slice(seen).filter((c) => !c.connected).length, 1, 'only the drop: the flood ended nothing');
    const floodWarnings = warnings.slice(warned).filter((w) => /not a resource type this client asks for/.test(w));
    assert.equal(floodWarnings.length, 1);
    assert.doesNotMatch(client.snapshot!.version, /not\.a\.Type/);
    await bystanderStillServed();
  });
});
