// hedge_on_per_try_timeout delivered by a control plane over ADS: a route configuration whose route
// has `hedge_policy: { hedge_on_per_try_timeout: true }` makes a per-try timeout race a retry with the
// stalled attempt, end to end, in embedded mode (`createMesh({ xds })`, a grpc-js generated client)
// and in the xmesh sidecar (`startSidecar({ xds })`, a stock grpc-js client), against a stock grpc-js
// server whose first call of a behaviour never answers.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import * as grpc from '@grpc/grpc-js';
import { ControlPlane, silentLogger } from '@xmesh/control-plane';
import { createMesh, type Mesh } from '@xmesh/client';
import type { XdsBootstrap } from '@xmesh/discovery';
import { startSidecar, type Sidecar } from '@xmesh/sidecar';
import { TypeUrl } from '@xmesh/xds';
import { loadEcho, type EchoClient } from '../support/echo-server.js';
import { echoWithBehaviour, startStallingGrpcServer } from '../support/stalling-upstreams.js';
import { ECHO_LISTENER, ECHO_ROUTES, echoListener, edsCluster, loadAssignment } from './echo-resources.js';

const { EchoClient: EchoCtor } = loadEcho();

/** The echo route configuration with one route to `echo`: 3 s route timeout, 200 ms per try, hedged. */
function hedgedRoutes(): Record<string, unknown> {
  return {
    '@type': TypeUrl.RouteConfiguration,
    name: ECHO_ROUTES,
    virtual_hosts: [{
      name: 'echo',
      domains: ['*'],
      routes: [{
        name: 'default',
        match: { prefix: '' },
        route: {
          cluster: 'echo',
          timeout: '3s',
          retry_policy: { retry_on: 'unavailable', num_retries: 1, per_try_timeout: '0.2s', retry_back_off: { base_interval: '0.001s', max_interval: '0.002s' } },
          hedge_policy: { hedge_on_per_try_timeout: true },
        },
      }],
    }],
  };
}

describe('hedge_on_per_try_timeout from a control plane', () => {
  let upstream: Awaited<ReturnType<typeof startStallingGrpcServer>>;
  let plane: ControlPlane;
  let bootstrap: (id: string) => XdsBootstrap;

  before(async () => {
    upstream = await startStallingGrpcServer();
    const port = Number(upstream.address.split(':')[1]);
    plane = new ControlPlane({ logger: silentLogger });
    plane.setSnapshot('v1', [echoListener(), hedgedRoutes(), edsCluster('echo'), loadAssignment('echo', [port])]);
    const planePort = await plane.listen(0);
    bootstrap = (id) => ({ xds_servers: [{ server_uri: `127.0.0.1:${planePort}`, channel_creds: [{ type: 'insecure' }], server_features: ['xds_v3'] }], node: { id } });
  });

  after(async () => {
    await plane.close();
    upstream.close();
  });

  /** The first call of `behaviour` stalls: the racing retry's reply is the call's, the stalled call is cancelled, no per-try timeout counted. */
  async function assertHedged(client: EchoClient, behaviour: string, perTryTimeouts: () => number): Promise<void> {
    const { error, reply } = await echoWithBehaviour(client, behaviour).done;
    assert.equal(error, null);
    assert.equal(reply?.message, `${behaviour}#2`);
    const calls = upstream.seen.get(behaviour)!;
    assert.equal(calls.length, 2);
    assert.equal(await calls[0]!.cancelled, true);
    assert.equal(perTryTimeouts(), 0, 'hedged, not cancelled by its per-try timeout');
  }

  test('embedded: the stalled call keeps running, the racing retry answers, the stalled call is cancelled', async () => {
    const mesh: Mesh = await createMesh({ xds: bootstrap('hedging-embedded'), env: {} });
    const client = mesh.grpcClient(EchoCtor, `xds:///${ECHO_LISTENER}`) as EchoClient;
    try {
      await assertHedged(client, 'stall-first-xds-embedded', () => mesh.observability.store.value('cluster.echo.upstream_rq_per_try_timeout'));
    } finally {
      client.close();
      await mesh.close();
    }
  });

  test('sidecar: the stalled call keeps running, the racing retry answers, the stalled call is cancelled', async () => {
    const sidecar: Sidecar = await startSidecar({ xds: bootstrap('hedging-sidecar'), listen: '127.0.0.1:0', admin: false });
    const client = new EchoCtor(sidecar.target, grpc.credentials.createInsecure(), { 'grpc.default_authority': ECHO_LISTENER }) as EchoClient;
    try {
      await assertHedged(client, 'stall-first-xds-sidecar', () => sidecar.mesh.observability.store.value('cluster.echo.upstream_rq_per_try_timeout'));
    } finally {
      client.close();
      await sidecar.close();
    }
  });
});
