// HCM `local_reply_config` rewrites the replies the mesh makes itself — never an upstream's — in both
// modes and for HTTP and gRPC callers: the first mapper whose filter (status_code_filter,
// header_filter, and_filter) matches sets the status, body and headers; a gRPC reply's status becomes
// Envoy's mapping of the new HTTP status and its grpc-message the body. Stock grpc-js and undici callers.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import * as grpc from '@grpc/grpc-js';
import { request } from 'undici';
import { createMesh, type Mesh } from '@xmesh/client';
import { startSidecar, type Sidecar } from '@xmesh/sidecar';
import { bootstrap } from '../support/mesh-config.js';
import { loadEcho, type EchoClient } from '../support/echo-server.js';
import { unary } from '../support/grpc-call.js';

const { EchoClient: EchoCtor } = loadEcho();

/** Envoy's documented shape (http_connection_manager.proto LocalReplyConfig), written for these tests. */
const LOCAL_REPLY_CONFIG = {
  mappers: [
    {
      filter: {
        and_filter: {
          filters: [
            { status_code_filter: { comparison: { op: 'EQ', value: { default_value: 503, runtime_key: 'unused' } } } },
            { header_filter: { header: { name: 'x-client', string_match: { exact: 'mobile' } } } },
          ],
        },
      },
      status_code: 500,
      body: { inline_string: 'mobile: try later' },
      headers_to_add: [{ header: { key: 'x-mapped', value: 'mobile' }, append_action: 'OVERWRITE_IF_EXISTS_OR_ADD' }],
    },
    {
      filter: {
        and_filter: {
          filters: [
            { or_filter: { filters: [{ status_code_filter: { comparison: { op: 'GE', value: { default_value: 400 } } } }, { status_code_filter: { comparison: { op: 'LE', value: { default_value: 199 } } } }] } },
            { not_health_check_filter: {} },
          ],
        },
      },
      body: { inline_string: 'something went wrong' },
    },
  ],
};

/** `down`: its one endpoint is UNHEALTHY and panic mode is off, so every call gets the mesh's 503 "no healthy upstream". `real`: an upstream answering 503 itself. */
function config(realAddress: string): object {
  const cfg = bootstrap({
    routes: [{ prefix: '/real', cluster: 'real' }, { prefix: '/', cluster: 'down' }],
    clusters: { down: ['127.0.0.1:1'], real: [realAddress] },
    hcm: { local_reply_config: LOCAL_REPLY_CONFIG },
  }) as { static_resources: { clusters: Record<string, unknown>[] } };
  const down = cfg.static_resources.clusters.find((c) => c['name'] === 'down')!;
  (down['load_assignment'] as { endpoints: { lb_endpoints: Record<string, unknown>[] }[] }).endpoints[0]!.lb_endpoints[0]!['health_status'] = 'UNHEALTHY';
  down['common_lb_config'] = { healthy_panic_threshold: { value: 0 } };
  return cfg;
}

function metadata(client?: string): grpc.Metadata {
  const m = new grpc.Metadata();
  if (client !== undefined) m.set('x-client', client);
  return m;
}

describe('local_reply_config', () => {
  let realUpstream: Server;
  let mesh: Mesh;
  let sidecar: Sidecar;
  let sidecarUrl = '';

  before(async () => {
    realUpstream = createServer((_req, res) => {
      res.statusCode = 503;
      res.end('the upstream\'s own 503');
    });
    realUpstream.listen(0, '127.0.0.1');
    await once(realUpstream, 'listening');
    const cfg = config(`127.0.0.1:${(realUpstream.address() as AddressInfo).port}`);
    mesh = await createMesh({ config: cfg });
    sidecar = await startSidecar({ config: cfg, listen: '127.0.0.1:0', admin: false });
    sidecarUrl = `http://${sidecar.address.host}:${sidecar.address.port}`;
  });

  after(async () => {
    await mesh.close();
    await sidecar.close();
    realUpstream.closeAllConnections();
    realUpstream.close();
  });

  test('embedded fetch: the first matching mapper rewrites status, body and headers', async () => {
    const mobile = await mesh.fetch('http://svc.local/x', { headers: { 'x-client': 'mobile' } });
    assert.equal(mobile.status, 500);
    assert.equal(await mobile.text(), 'mobile: try later');
    assert.equal(mobile.headers.get('x-mapped'), 'mobile');
    assert.equal(mobile.headers.get('x-xmesh-error-code'), 'XMESH_NO_HEALTHY_UPSTREAM');
    const other = await mesh.fetch('http://svc.local/x');
    assert.equal(other.status, 503, 'the second mapper sets no status');
    assert.equal(await other.text(), 'something went wrong');
    assert.equal(other.headers.get('x-mapped'), null);
  });

  test('an upstream\'s own response is not a local reply: never rewritten', async () => {
    const reply = await mesh.fetch('http://svc.local/real');
    assert.equal(reply.status, 503);
    assert.equal(await reply.text(), 'the upstream\'s own 503');
    const proxied = await request(`${sidecarUrl}/real`, { headers: { host: 'svc.local' } });
    assert.equal(await proxied.body.text(), 'the upstream\'s own 503');
  });

  test('sidecar, HTTP/1.1 caller: the same rewrite', async () => {
    const mobile = await request(`${sidecarUrl}/x`, { headers: { host: 'svc.local', 'x-client': 'mobile' } });
    assert.equal(mobile.statusCode, 500);
    assert.equal(await mobile.body.text(), 'mobile: try later');
    assert.equal(mobile.headers['x-mapped'], 'mobile');
    const other = await request(`${sidecarUrl}/x`, { headers: { host: 'svc.local' } });
    assert.equal(other.statusCode, 503);
    assert.equal(await other.body.text(), 'something went wrong');
  });

  test('gRPC callers, embedded and through the sidecar: status from the rewritten HTTP status, message from the body', async () => {
    const embedded = mesh.grpcClient(EchoCtor, 'dns:///svc.local:50051') as EchoClient;
    const viaSidecar = new EchoCtor(`${sidecar.address.host}:${sidecar.address.port}`, grpc.credentials.createInsecure()) as EchoClient;
    try {
      for (const [name, client] of [['embedded', embedded], ['sidecar', viaSidecar]] as const) {
        const mobile = await unary(client, { message: 'm' }, {}, 'Echo', metadata('mobile')).then(() => assert.fail('succeeded'), (e: grpc.ServiceError) => e);
        assert.equal(mobile.code, grpc.status.UNKNOWN, `${name}: 500 maps to UNKNOWN (${mobile.details})`);
        assert.equal(mobile.details, 'mobile: try later', name);
        const other = await unary(client, { message: 'o' }, {}, 'Echo', metadata()).then(() => assert.fail('succeeded'), (e: grpc.ServiceError) => e);
        assert.equal(other.code, grpc.status.UNAVAILABLE, `${name}: no status rewrite, the reply's own`);
        assert.equal(other.details, 'something went wrong', name);
      }
    } finally {
      embedded.close();
      viaSidecar.close();
    }
  });

  test('the fast API: the MeshError carries the rewritten statuses and body, the original as its cause', async () => {
    const error = await mesh.unary('svc.local:50051', '/xmesh.echo.Echo/Echo', Buffer.alloc(0), { metadata: { 'x-client': 'mobile' } }).then(() => assert.fail('succeeded'), (e: { code: string; grpcStatus: number; httpStatus: number; message: string; cause: { httpStatus: number } }) => e);
    assert.equal(error.code, 'XMESH_NO_HEALTHY_UPSTREAM');
    assert.equal(error.httpStatus, 500);
    assert.equal(error.grpcStatus, grpc.status.UNKNOWN);
    assert.equal(error.message, 'mobile: try later');
    assert.equal(error.cause.httpStatus, 503);
  });
});

describe('local_reply_config body formats', () => {
  let mesh: Mesh;
  let sidecar: Sidecar;

  before(async () => {
    const cfg = config('127.0.0.1:1') as { static_resources: { listeners: { filter_chains: { filters: { typed_config: Record<string, unknown> }[] }[] }[] } };
    // Shaped like envoyproxy/envoy configs/envoy-demo.yaml's local reply (an HTML body for GET), plus a text body_format.
    cfg.static_resources.listeners[0]!.filter_chains[0]!.filters[0]!.typed_config['local_reply_config'] = {
      mappers: [{
        filter: { header_filter: { header: { name: ':method', string_match: { exact: 'GET' } } } },
        body_format_override: { text_format_source: { inline_string: '<h1>%RESPONSE_CODE%</h1>' }, content_type: 'text/html' },
      }],
      body_format: { text_format: '[%LOCAL_REPLY_BODY%] for %REQ(x-who)% 100%%\n' },
    };
    mesh = await createMesh({ config: cfg });
    sidecar = await startSidecar({ config: cfg, listen: '127.0.0.1:0', admin: false });
  });
  after(async () => {
    await mesh.close();
    await sidecar.close();
  });

  test('a mapper\'s body_format_override, else the config\'s body_format, in both modes', async () => {
    const url = `http://${sidecar.address.host}:${sidecar.address.port}/x`;
    for (const [name, send] of [
      ['embedded', async (method: string, headers: Record<string, string>) => {
        const r = await mesh.fetch('http://svc.local/x', { method, headers, ...(method === 'POST' ? { body: '' } : {}) });
        return { status: r.status, type: r.headers.get('content-type'), body: await r.text() };
      }],
      ['sidecar', async (method: string, headers: Record<string, string>) => {
        const r = await request(url, { method, headers: { ...headers, host: 'svc.local' } });
        return { status: r.statusCode, type: String(r.headers['content-type']), body: await r.body.text() };
      }],
    ] as const) {
      assert.deepEqual(await send('GET', {}), { status: 503, type: 'text/html', body: '<h1>503</h1>' }, name);
      assert.deepEqual(await send('POST', { 'x-who': 'bob' }), { status: 503, type: 'text/plain', body: '[no healthy upstream] for bob 100%\n' }, name);
    }
    const client = mesh.grpcClient(EchoCtor, 'dns:///svc.local:50051') as EchoClient;
    try {
      const error = await unary(client, { message: 'm' }, {}, 'Echo', metadata()).then(() => assert.fail('succeeded'), (e: grpc.ServiceError) => e);
      assert.equal(error.code, grpc.status.UNAVAILABLE);
      assert.match(error.details, /^\[XMESH_NO_HEALTHY_UPSTREAM: .*\] for - 100%\n$/);
    } finally {
      client.close();
    }
  });
});
