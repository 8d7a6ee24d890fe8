// The sidecar fed by a real control plane over ADS (`xds` option / `xmesh sidecar --xds`):
// it routes by the served listener and follows a snapshot change.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as grpc from '@grpc/grpc-js';
import { ControlPlane, silentLogger } from '@xmesh/control-plane';
import { startSidecar } from '@xmesh/sidecar';
import { loadEcho, startEchoServer, type EchoClient } from '../support/echo-server.js';
import { unary } from '../support/grpc-call.js';
import { echoResources, ECHO_LISTENER } from '../xds/echo-resources.js';

test('a sidecar started from an xDS bootstrap routes as the control plane says, and follows an update', async () => {
  const one = await startEchoServer('one');
  const two = await startEchoServer('two');
  const plane = new ControlPlane({ logger: silentLogger });
  plane.setSnapshot('v1', echoResources({ endpoints: { echo: [one.port] }, split: { echo: 1 } }));
  const port = await plane.listen(0);
  const sidecar = await startSidecar({
    xds: { xds_servers: [{ server_uri: `127.0.0.1:${port}`, channel_creds: [{ type: 'insecure' }], server_features: ['xds_v3'] }], node: { id: 'sidecar-test' } },
    listen: '127.0.0.1:0',
    admin: false,
  });
  const { EchoClient: EchoCtor } = loadEcho();
  const client = new EchoCtor(sidecar.target, grpc.credentials.createInsecure(), { 'grpc.default_authority': ECHO_LISTENER }) as EchoClient;
  try {
    assert.ok((await unary(client, { message: 'a' })).server.startsWith('one@'));
    plane.setSnapshot('v2', echoResources({ endpoints: { echo: [two.port] }, split: { echo: 1 } }));
    // Usually followed at once; the bound only tells a change that is followed from one that is not.
    const deadline = Date.now() + 15_000;
    let server = '';
    while (Date.now() < deadline && !server.startsWith('two@')) {
      server = (await unary(client, { message: 'b' })).server;
      if (!server.startsWith('two@')) await new Promise((r) => setTimeout(r, 20));
    }
    assert.ok(server.startsWith('two@'), `still served by ${server}`);
  } finally {
    client.close();
    await sidecar.close();
    await plane.close();
    await Promise.all([one.close(), two.close()]);
  }
});
