// Each health checker kind against peers nobody here wrote: a stock grpc-js server serving
// grpc.health.v1 with the grpc-health-check package, node http / http2 / https servers, a net server.
// Every HealthCheck field the docs list as implemented is set in one of these configs, and what it
// changes is asserted (what the host receives, or the host's health_flags in /clusters). The checks'
// timers run on a fake clock; each step waits (in real time) for the checks it started to end.
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import { createServer as createH2Server, createSecureServer } from 'node:http2';
import { createServer as createHttpsServer } from 'node:https';
import { createServer as createNetServer, type AddressInfo, type Server as NetServer, type Socket } from 'node:net';
import type { TLSSocket } from 'node:tls';
import * as grpc from '@grpc/grpc-js';
import { HealthImplementation } from 'grpc-health-check';
import { createMesh, type Mesh } from '@xmesh/client';
import { FakeClock } from '../support/fake-clock.js';
import { bootstrap } from '../support/mesh-config.js';
import { standardPki } from '../support/pki.js';
import { waitFor } from '../support/wait.js';

const pki = standardPki();
after(() => pki.dispose());

/** A config with one cluster `svc` of `endpoints` (lb_endpoints entries), and extra cluster fields. */
function config(endpoints: object[], cluster: Record<string, unknown>): object {
  const b = bootstrap({ routes: [{ prefix: '/', cluster: 'svc' }], clusters: { svc: [] } }) as { static_resources: { clusters: Record<string, unknown>[] } };
  Object.assign(b.static_resources.clusters[0]!, { load_assignment: { cluster_name: 'svc', endpoints: [{ lb_endpoints: endpoints }] }, ...cluster });
  return b;
}

function endpoint(port: number, extra: Record<string, unknown> = {}): object {
  return { endpoint: { address: { socket_address: { address: '127.0.0.1', port_value: port } }, ...extra } };
}

const port = (server: Server | NetServer | { address(): unknown }): number => (server.address() as AddressInfo).port;
const listen = async <S extends Server | NetServer>(server: S): Promise<S> => {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return server;
};

/** A mesh on a fake clock, with helpers to step its checks and read the flags. */
async function meshOn(cfg: object, beforeReady?: (clock: FakeClock) => void): Promise<{ mesh: Mesh; clock: FakeClock; step(ms: number, wait?: boolean): Promise<void>; flags(port: number): string; stat(name: string): number }> {
  const clock = new FakeClock(0);
  const creating = createMesh({ config: cfg, clock });
  beforeReady?.(clock);
  const mesh = await creating;
  const stat = (name: string) => mesh.observability.store.value(`cluster.svc.health_check.${name}`);
  return {
    mesh,
    clock,
    stat,
    /** Waits for the checks in flight, moves the clock, and unless `wait` is false (a check only its timeout can end) waits for the checks it started. */
    async step(ms, wait = true) {
      if (wait) await waitFor(() => stat('attempt') === stat('success') + stat('failure'), 'the health checks in flight to end');
      clock.advance(ms);
      if (wait) await waitFor(() => stat('attempt') === stat('success') + stat('failure'), 'the health checks in flight to end');
    },
    flags: (p) => mesh.observability.clusters()[0]!.hosts.find((h) => h.address === `127.0.0.1:${p}`)!.healthFlags,
  };
}

const BASE = { timeout: '1s', interval: '1s', unhealthy_threshold: 2, healthy_threshold: 2 };

describe('HTTP health checks', () => {
  test('method, host, send, receive, headers, expected / retriable statuses, service name: as Envoy sends and judges them', async () => {
    const seen: { method?: string; host?: string; body: string; check?: string; ua?: string }[] = [];
    let status = 202;
    let clusterHeader = 'svc-main';
    let reply = 'all ok here';
    const server = await listen(createServer((req: IncomingMessage, res) => {
      let body = '';
      req.setEncoding('utf8');
      req.on('data', (c: string) => (body += c));
      req.on('end', () => {
        seen.push({ method: req.method, host: req.headers.host, body, check: req.headers['x-check'] as string, ua: req.headers['user-agent'] });
        res.writeHead(status, { 'x-envoy-upstream-healthchecked-cluster': clusterHeader }).end(reply);
      });
    }));
    const p = port(server);
    const { mesh, step, flags, stat } = await meshOn(config([endpoint(p)], {
      health_checks: [{
        ...BASE,
        unhealthy_interval: '3s',
        unhealthy_edge_interval: '0.5s',
        healthy_edge_interval: '0.7s',
        no_traffic_interval: '1s',
        no_traffic_healthy_interval: '1s',
        interval_jitter: '0s',
        interval_jitter_percent: 0,
        reuse_connection: false,
        http_health_check: {
          host: 'check.example',
          path: '/healthz',
          method: 'POST',
          send: { text: '68656c6c6f' },
          receive: [{ text: '616c6c' }, { binary: Buffer.from('here').toString('base64') }],
          response_buffer_size: 64,
          request_headers_to_add: [{ header: { key: 'x-check', value: 'for %REQ(:authority)%' } }],
          request_headers_to_remove: ['user-agent'],
          expected_statuses: [{ start: 200, end: 300 }],
          retriable_statuses: [{ start: 429, end: 430 }],
          codec_client_type: 'HTTP1',
          service_name_matcher: { prefix: 'svc-' },
        },
      }],
    }));
    assert.equal(flags(p), 'healthy');
    assert.deepEqual(seen[0], { method: 'POST', host: 'check.example', body: 'hello', check: 'for check.example', ua: undefined });
    assert.equal(stat('verify_cluster'), 1);

    // Traffic: from the next check on, the intervals are the traffic ones (the first was scheduled with no_traffic_interval).
    assert.equal((await mesh.fetch('http://svc/')).status, 202);
    // A retriable status counts toward unhealthy_threshold (2); then the edge interval applies.
    status = 429;
    await step(1000);
    assert.equal(flags(p), 'healthy');
    await step(500);
    assert.equal(flags(p), '/failed_active_hc');
    // Two successes (healthy_threshold) bring it back, the first after unhealthy_interval, the second after the healthy edge interval.
    status = 200;
    await step(3000);
    assert.equal(flags(p), '/failed_active_hc');
    await step(700);
    assert.equal(flags(p), 'healthy');
    // A status outside both lists fails at once; so do a body without the receive segments and a mismatched cluster name.
    status = 503;
    await step(1000);
    assert.equal(flags(p), '/failed_active_hc');
    for (const [bad, setBad] of [['body', () => (reply = 'nope')], ['cluster', () => (clusterHeader = 'other')]] as const) {
      status = 200;
      reply = 'all ok here';
      clusterHeader = 'svc-main';
      await step(3000);
      await step(700);
      assert.equal(flags(p), 'healthy', bad);
      setBad();
      await step(1000);
      assert.equal(flags(p), '/failed_active_hc', bad);
    }
    await mesh.close();
    server.close();
  });

  test('HTTP/2 checks (codec_client_type HTTP2); x-envoy-degraded marks the host /degraded_active_hc; x-envoy-immediate-health-check-fail leaves it out of balancing', async () => {
    let headers: Record<string, string> = {};
    let status = 200;
    let protocols: string[] = [];
    const server = createH2Server();
    server.on('stream', (stream, h) => {
      protocols.push(String(h[':authority']));
      stream.respond({ ':status': status, ...headers });
      stream.end();
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const p = port(server);
    const { mesh, step, flags } = await meshOn(config([endpoint(p, { health_check_config: { hostname: 'ep.check' } })], {
      http2_protocol_options: {},
      health_checks: [{ ...BASE, no_traffic_interval: '1s', http_health_check: { path: '/', host: 'ignored.when.endpoint.names.one', codec_client_type: 'HTTP2' } }],
    }));
    assert.equal(flags(p), 'healthy');
    assert.deepEqual(protocols, ['ep.check']);
    headers = { 'x-envoy-degraded': '1' };
    await step(1000);
    assert.equal(flags(p), '/degraded_active_hc');
    headers = { 'x-envoy-immediate-health-check-fail': '1' };
    status = 503;
    await step(1000);
    // As in Envoy, a failure leaves the degraded flag as the last success set it.
    assert.equal(flags(p), '/failed_active_hc/degraded_active_hc/excluded_via_immediate_hc_fail');
    protocols = [];
    await mesh.close();
    server.close();
  });
});

describe('gRPC health checks against a stock grpc-js server (grpc-health-check)', () => {
  test('SERVING passes; NOT_SERVING or an unknown service fails at once; service_name, authority and initial_metadata are sent', async () => {
    const health = new HealthImplementation({ 'xmesh.echo.Echo': 'SERVING', '': 'SERVING' });
    const metadata: grpc.Metadata[] = [];
    const server = new grpc.Server({
      interceptors: [(_descriptor, call) => new grpc.ServerInterceptingCall(call, {
        start: (next) => next({ onReceiveMetadata: (md, nextMd) => { metadata.push(md); nextMd(md); } }),
      })],
    });
    health.addToServer(server);
    const grpcPort = await new Promise<number>((resolve, reject) => server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (e, p) => (e ? reject(e) : resolve(p))));
    const { mesh, step, flags } = await meshOn(config([endpoint(grpcPort)], {
      http2_protocol_options: {},
      health_checks: [{
        ...BASE,
        unhealthy_threshold: 3,
        no_traffic_interval: '1s',
        grpc_health_check: { service_name: 'xmesh.echo.Echo', authority: 'echo.check', initial_metadata: [{ header: { key: 'x-hc', value: 'from-mesh' } }] },
      }],
    }));
    assert.equal(flags(grpcPort), 'healthy');
    assert.equal(metadata[0]?.get('x-hc')[0], 'from-mesh');
    assert.equal(metadata[0]?.get('user-agent')[0]?.toString().startsWith('Envoy/HC'), true);
    health.setStatus('xmesh.echo.Echo', 'NOT_SERVING');
    await step(1000);
    assert.equal(flags(grpcPort), '/failed_active_hc', 'NOT_SERVING fails at once despite unhealthy_threshold 3');
    health.setStatus('xmesh.echo.Echo', 'SERVING');
    await step(1000);
    await step(1000);
    assert.equal(flags(grpcPort), 'healthy');
    await mesh.close();

    const unknown = await meshOn(config([endpoint(grpcPort)], {
      http2_protocol_options: {},
      health_checks: [{ ...BASE, grpc_health_check: { service_name: 'no.such.Service' } }],
    }));
    assert.equal(unknown.flags(grpcPort), '/failed_active_hc', 'NOT_FOUND is an active failure');
    await unknown.mesh.close();
    server.forceShutdown();
  });
});

describe('TCP health checks', () => {
  test('send / receive: passes once the segments arrived; reuse_connection false opens a connection per check; no answer in time is /active_hc_timeout', async () => {
    let answer = 'PONG';
    let connections = 0;
    const server = await listen(createNetServer((socket: Socket) => {
      connections++;
      socket.on('error', () => undefined);
      socket.on('data', (d) => {
        if (d.toString() === 'PING') socket.write(answer);
      });
    }));
    const p = port(server);
    const { mesh, step, flags, stat } = await meshOn(config([endpoint(p)], {
      health_checks: [{
        ...BASE,
        unhealthy_threshold: 1,
        reuse_connection: false,
        no_traffic_interval: '1s',
        tcp_health_check: { send: { text: '50494e47' }, receive: [{ binary: Buffer.from('PO').toString('base64') }, { text: '4e47' }] },
      }],
    }));
    assert.equal(flags(p), 'healthy');
    await step(1000);
    assert.equal(connections, 2);
    answer = 'NOPE';
    const failures = stat('network_failure');
    await step(1000, false);
    await new Promise((resolve) => setTimeout(resolve, 100));
    assert.equal(flags(p), 'healthy', 'still waiting for the segments');
    await step(1000, false);
    await waitFor(() => stat('network_failure') === failures + 1, 'the timeout');
    assert.equal(flags(p), '/failed_active_hc/active_hc_timeout');
    assert.equal(stat('network_failure'), failures + 1);
    await mesh.close();
    server.close();
  });
});

describe('checks of a TLS cluster use its transport socket', () => {
  const TLS_TYPE = 'type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext';
  const upstreamTls = {
    name: 'envoy.transport_sockets.tls',
    typed_config: {
      '@type': TLS_TYPE,
      common_tls_context: {
        tls_certificates: [{ certificate_chain: { filename: pki.client.certPath }, private_key: { filename: pki.client.keyPath } }],
        validation_context: { trusted_ca: { filename: pki.ca.certPath } },
      },
    },
  };

  test('an mTLS server that requires a client certificate passes the check only over the cluster\'s TLS; tls_options sets the ALPN', async () => {
    const alpn: (string | false)[] = [];
    const server = createHttpsServer({ key: pki.server.key, cert: pki.server.cert, ca: pki.ca.cert, requestCert: true, rejectUnauthorized: true, ALPNProtocols: ['hc-proto', 'http/1.1'] }, (req, res) => {
      alpn.push((req.socket as TLSSocket).alpnProtocol);
      res.end('ok');
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const p = port(server);
    const { mesh, flags } = await meshOn(config([endpoint(p)], {
      transport_socket: upstreamTls,
      health_checks: [{ ...BASE, http_health_check: { path: '/' }, tls_options: { alpn_protocols: ['hc-proto'] } }],
    }));
    assert.equal(flags(p), 'healthy');
    assert.deepEqual(alpn, ['hc-proto']);
    await mesh.close();
    server.close();
  });

  test('transport_socket_match_criteria picks the matching transport socket for checks (here TLS to a separate check port)', async () => {
    const checked: string[] = [];
    const tlsServer = createSecureServer({ key: pki.server.key, cert: pki.server.cert, ca: pki.ca.cert, requestCert: true, rejectUnauthorized: true, allowHTTP1: true }, (req, res) => {
      checked.push(String(req.headers['user-agent']));
      res.end('ok');
    });
    await new Promise<void>((resolve) => tlsServer.listen(0, '127.0.0.1', resolve));
    const plain = await listen(createServer((_req, res) => res.end('plain')));
    const { mesh, flags } = await meshOn(config([endpoint(port(plain), { health_check_config: { address: { socket_address: { address: '127.0.0.1', port_value: port(tlsServer) } } } })], {
      transport_socket_matches: [{ name: 'checks', match: { hc: 'tls' }, transport_socket: upstreamTls }],
      health_checks: [{ ...BASE, http_health_check: { path: '/' }, transport_socket_match_criteria: { hc: 'tls' } }],
    }));
    assert.equal(flags(port(plain)), 'healthy');
    assert.deepEqual(checked, ['Envoy/HC']);
    assert.equal(await (await mesh.fetch('http://svc/')).text(), 'plain', 'traffic stays on the endpoint\'s own (plaintext) socket');
    await mesh.close();
    tlsServer.close();
    plain.close();
  });
});

describe('the cluster fields that act with health checks', () => {
  test('initial_jitter delays the first check (the cluster warms after it); disable_active_health_check leaves a host unchecked and passing', async () => {
    let checks = 0;
    const server = await listen(createServer((_req, res) => {
      checks++;
      res.end('ok');
    }));
    const p = port(server);
    const other = await listen(createServer((_req, res) => res.writeHead(500).end()));
    let ready = false;
    const { mesh, flags } = await meshOn(config([endpoint(p), endpoint(port(other), { health_check_config: { disable_active_health_check: true } })], {
      // The first check starts at a random point of the 2 s jitter; a timeout longer than the jitter keeps
      // the one clock.advance(2000) from also firing the check's timeout before its answer arrives.
      health_checks: [{ ...BASE, timeout: '5s', initial_jitter: '2s', http_health_check: { path: '/' } }],
    }), (clock) => {
      void Promise.resolve().then(async () => {
        await new Promise((resolve) => setTimeout(resolve, 50));
        assert.equal(checks, 0, 'nothing before the jitter');
        assert.equal(ready, false);
        clock.advance(2000);
      });
    });
    ready = true;
    assert.equal(checks, 1);
    assert.equal(flags(p), 'healthy');
    assert.equal(flags(port(other)), 'healthy');
    await mesh.close();
    server.close();
    other.close();
  });

  test('ignore_new_hosts_until_first_hc; a removed host that still passes stays (/pending_dynamic_removal) unless ignore_health_on_host_removal', async () => {
    const servers = await Promise.all([0, 1, 2].map(() => listen(createServer((_req, res) => res.end('ok')))));
    const [a, b, c] = servers.map(port) as [number, number, number];
    const cfg = (ports: number[], extra: Record<string, unknown> = {}) => config(ports.map((x) => endpoint(x)), {
      common_lb_config: { ignore_new_hosts_until_first_hc: true },
      health_checks: [{ ...BASE, unhealthy_threshold: 1, no_traffic_interval: '1s', http_health_check: { path: '/' } }],
      ...extra,
    });
    const { mesh, step, flags } = await meshOn(cfg([a, b]));
    await mesh.update(cfg([a, c]));
    assert.equal(flags(b), '/pending_dynamic_removal');
    assert.equal(flags(c), '/failed_active_hc/pending_active_hc');
    await step(1000);
    assert.equal(flags(c), 'healthy');
    servers[1]!.close();
    servers[1]!.closeAllConnections();
    await step(1000);
    assert.equal(mesh.observability.clusters()[0]!.hosts.some((h) => h.address === `127.0.0.1:${b}`), false, 'gone once it failed');
    await mesh.update(cfg([a], { ignore_health_on_host_removal: true }));
    assert.deepEqual(mesh.observability.clusters()[0]!.hosts.map((h) => h.address), [`127.0.0.1:${a}`]);
    await mesh.close();
    for (const s of servers) s.close();
  });

  test('close_connections_on_host_health_failure closes the connections of a host that fails its check', async () => {
    let healthy = true;
    const sockets: Socket[] = [];
    const server = await listen(createServer((req, res) => {
      if (req.headers['user-agent'] === 'Envoy/HC') res.writeHead(healthy ? 200 : 503).end();
      else res.end('traffic');
    }));
    server.on('connection', (s: Socket) => sockets.push(s));
    const p = port(server);
    const { mesh, step, flags } = await meshOn(config([endpoint(p)], {
      close_connections_on_host_health_failure: true,
      health_checks: [{ ...BASE, no_traffic_interval: '1s', http_health_check: { path: '/' } }],
    }));
    assert.equal(await (await mesh.fetch('http://svc/')).text(), 'traffic');
    const traffic = sockets.at(-1)!;
    assert.equal(traffic.destroyed, false);
    healthy = false;
    await step(1000);
    assert.equal(flags(p), '/failed_active_hc');
    await waitFor(() => traffic.destroyed || traffic.readyState === 'closed', 'the traffic connection to close');
    await mesh.close();
    server.close();
  });
});
