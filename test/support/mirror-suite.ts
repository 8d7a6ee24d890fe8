// Request mirroring (request_mirror_policies), checked in both modes against stock node http/http2
// servers: copies reach the mirror cluster with Envoy's `-shadow` host suffix, fire and forget; a
// hanging shadow never holds or fails the caller's call; runtime_fraction's default_value picks its
// share of calls; trace_sampled and disable_shadow_host_suffix_append act.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import * as grpc from '@grpc/grpc-js';
import { createMesh, type Mesh } from '@xmesh/client';
import { startSidecar, type Sidecar } from '@xmesh/sidecar';
import { loadEcho, startEchoServer, type EchoClient, type EchoServer } from './echo-server.js';
import { unary } from './grpc-call.js';
import { closeMirrorUpstreams, mirrorConfig, seededRandom, startMirrorUpstreams, type MirrorUpstreams } from './mirror-upstreams.js';
import { waitFor } from './wait.js';
import { within } from './within.js';

const { EchoClient: EchoCtor } = loadEcho();
const UNSAMPLED = '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-00';
const SAMPLED = '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01';

/**
 * The mirroring behaviour tests, run by test/embedded/mirroring.test.ts (`embedded`: the app's mesh copies
 * its own calls) and test/sidecar/mirroring.test.ts (`sidecar`: the app sends its calls to a sidecar,
 * which copies them; the app copies none).
 */
export function describeMirroring(mode: 'embedded' | 'sidecar'): void {
  describe(`request mirroring, ${mode}`, () => {
    let echoServer: EchoServer;
    let u: MirrorUpstreams;
    let sidecar: Sidecar | undefined;
    let mesh: Mesh;
    let echo: EchoClient;
    /** The copying mesh's mirror stats: the sidecar's, or the app's own in embedded mode. */
    const stat = (cluster: string, name: string) => (sidecar?.mesh ?? mesh).observability.store.value(`cluster.${cluster}.xmesh.mirror.${name}`);
    const text = async (path: string, init: RequestInit = {}) => (await mesh.fetch(`http://svc.local:8080${path}`, init)).text();

    before(async () => {
      echoServer = await startEchoServer('echo');
      u = await startMirrorUpstreams(echoServer.address);
      // A mesh draws its fractions from the random it was created with: seeded, the 30 % count is the same on every run.
      const random = Math.random;
      Math.random = seededRandom(17);
      try {
        if (mode === 'sidecar') sidecar = await startSidecar({ config: mirrorConfig(u), listen: '127.0.0.1:0', admin: false });
        mesh = await createMesh({ config: mirrorConfig(u), mode, ...(sidecar === undefined ? {} : { sidecar: { address: sidecar.target } }), env: {} });
      } finally {
        Math.random = random;
      }
      echo = mesh.grpcClient(EchoCtor, 'echo.default.svc:50051') as EchoClient;
    });

    after(async () => {
      echo.close();
      await within(mesh.close(), 10_000, 'the mesh closes with copies in flight');
      if (sidecar !== undefined) await within(sidecar.close(), 10_000, 'the sidecar closes with copies in flight');
      await closeMirrorUpstreams(u);
      await echoServer.close();
    });

    test('runtime_fraction 30 %: 1 000 calls give 300 ± 3 % copies, every call answered by the primary', async () => {
      for (let i = 0; i < 1000; i++) assert.equal(await text('/fraction'), 'reply primary');
      await waitFor(() => u.shadow.seen.filter((r) => r.path === '/fraction').length === stat('shadow', 'sent'), 'the copies sent to arrive');
      const copies = u.shadow.seen.filter((r) => r.path === '/fraction').length;
      assert.ok(Math.abs(copies - 300) <= 9, `${copies} copies of 1000 calls`);
      assert.equal(u.primary.seen.filter((r) => r.path === '/fraction').length, 1000);
      if (sidecar !== undefined) assert.equal(mesh.observability.store.value('cluster.shadow.xmesh.mirror.sent'), 0, 'the app copies nothing: the sidecar does');
    });

    test('a copy carries the method, path, headers and body to the -shadow host; trace_sampled marks it sampled', async () => {
      const before = u.shadow.seen.length;
      const reply = await text('/copy?q=1', { method: 'POST', body: 'the payload', headers: { 'x-custom': 'kept', traceparent: UNSAMPLED } });
      assert.equal(reply, 'reply primary');
      await waitFor(() => u.shadow.seen.length === before + 1, 'the copy');
      const copy = u.shadow.seen[before]!;
      assert.equal(copy.method, 'POST');
      assert.equal(copy.path, '/copy?q=1');
      assert.equal(copy.host, 'svc.local-shadow:8080');
      assert.equal(copy.headers['x-custom'], 'kept');
      assert.equal(copy.headers.traceparent, SAMPLED);
      assert.equal(copy.body.toString(), 'the payload');
      const primary = u.primary.seen.at(-1)!;
      assert.equal(primary.host, 'svc.local:8080', 'the call itself keeps its host');
    });

    test('disable_shadow_host_suffix_append keeps the host; trace_sampled false marks the copy unsampled', async () => {
      const before = u.shadow.seen.length;
      assert.equal(await text('/plain', { headers: { traceparent: SAMPLED } }), 'reply primary');
      await waitFor(() => u.shadow.seen.length === before + 1, 'the copy');
      const copy = u.shadow.seen[before]!;
      assert.equal(copy.host, 'svc.local:8080');
      assert.equal(copy.headers.traceparent, UNSAMPLED);
    });

    test('a hanging shadow never holds or fails a call: every call ends with the primary reply while its copy hangs', async () => {
      const calls = Array.from({ length: 20 }, (_, i) => text('/hang', { method: 'POST', body: `body ${i}` }));
      const replies = await within(Promise.all(calls), 10_000, 'calls whose copies hang');
      assert.deepEqual(new Set(replies), new Set(['reply primary']));
      await waitFor(() => u.hang.held === 20, 'the 20 copies held by the hanging shadow');
      assert.equal(u.hang.held, 20, 'no copy was answered: the calls did not wait for them');
      assert.equal(stat('hang', 'failed'), 0);
    });

    test('a virtual host\'s and a route config\'s policies apply to routes that set none; the most specific list wins, unmerged', async () => {
      const before = u.shadow.seen.length;
      const sentBefore = stat('shadow', 'sent');
      const at = async (authority: string, path: string) => (await mesh.fetch(`http://${authority}${path}`)).text();
      assert.equal(await at('vh.local:8080', '/from-vhost'), 'reply primary');
      assert.equal(await at('vh.local:8080', '/own'), 'reply primary');
      assert.equal(await at('rc.local:8080', '/from-config'), 'reply primary');
      await waitFor(() => u.shadow.seen.length >= before + 3, 'the three copies');
      assert.equal(stat('shadow', 'sent') - sentBefore, 3, 'one copy per call: the lists are not merged');
      const copies = u.shadow.seen.slice(before).map((r) => `${r.host}${r.path}`).sort();
      assert.deepEqual(copies, ['rc.local-shadow:8080/from-config', 'vh.local-shadow:8080/own', 'vh.local:8080/from-vhost']);
    });

    test('cluster_header: the copy goes to the cluster the request names; none without the header, with it empty, or naming no cluster', async () => {
      const shadowBefore = u.shadow.seen.length;
      const sentBefore = stat('shadow', 'sent');
      const at = async (headers: Record<string, string>) => (await mesh.fetch('http://hdr.local:8080/by-header', { headers })).text();
      for (const headers of [{}, { 'x-mirror-cluster': '' }, { 'x-mirror-cluster': 'no-such-cluster' }, { 'x-mirror-cluster': 'shadow' }]) {
        assert.equal(await at(headers), 'reply primary', JSON.stringify(headers));
      }
      await waitFor(() => u.shadow.seen.length > shadowBefore, 'the copy named by the header');
      assert.equal(await at({ 'x-mirror-cluster': 'shadow' }), 'reply primary');
      await waitFor(() => u.shadow.seen.length === shadowBefore + 2, 'the second copy');
      // A repeated header: its first value names the cluster, as Envoy reads it.
      const repeated = new Headers([['x-mirror-cluster', 'shadow'], ['x-mirror-cluster', 'no-such-cluster']]);
      assert.equal(await (await mesh.fetch('http://hdr.local:8080/by-header', { headers: repeated })).text(), 'reply primary');
      // The route's own request header names it: read from the request as the route sends it.
      assert.equal(await (await mesh.fetch('http://hdr.local:8080/by-route')).text(), 'reply primary');
      await waitFor(() => u.shadow.seen.length === shadowBefore + 4, 'the copies of the repeated-header and by-route requests');
      assert.deepEqual(u.shadow.seen.slice(shadowBefore).map((r) => `${r.host}${r.path}`).sort(), [
        'hdr.local-shadow:8080/by-header', 'hdr.local-shadow:8080/by-header', 'hdr.local-shadow:8080/by-header', 'hdr.local-shadow:8080/by-route',
      ]);
      assert.equal(stat('shadow', 'sent') - sentBefore, 4, 'only the requests naming "shadow" were copied');
      const store = (sidecar?.mesh ?? mesh).observability.store;
      assert.deepEqual([...store.all()].map((e) => e.name).filter((n) => n.includes('no-such-cluster')), [], 'a header value is never a stats name');
    });

    test('a copy is made after the route\'s rewrites: rewritten path and Host (then -shadow), the route\'s headers added', async () => {
      const before = u.shadow.seen.length;
      assert.equal((await (await mesh.fetch('http://rw.local:8080/old/item?q=2')).text()), 'reply primary');
      await waitFor(() => u.shadow.seen.length === before + 1, 'the copy');
      const copy = u.shadow.seen[before]!;
      const primary = u.primary.seen.at(-1)!;
      assert.deepEqual([primary.host, primary.path, primary.headers['x-route']], ['backend.local', '/new/item?q=2', 'added']);
      assert.deepEqual([copy.host, copy.path, copy.headers['x-route']], ['backend.local-shadow', '/new/item?q=2', 'added']);
    });

    test('a shadow refusing connections fails only its copies: every call answered, the failures counted', async () => {
      const replies = await within(Promise.all(Array.from({ length: 10 }, () => text('/down'))), 10_000, 'calls whose copies fail');
      assert.deepEqual(new Set(replies), new Set(['reply primary']));
      await waitFor(() => stat('down', 'failed') === 10, 'the 10 failed copies counted');
      assert.equal(stat('down', 'sent'), 10);
    });

    test('the fast unary API (mesh.unary) is copied like a generated client\'s call', async () => {
      const before = u.grpcShadow.seen.length;
      const codec = EchoCtor.service['Echo']!;
      const reply = codec.responseDeserialize(Buffer.from(await mesh.unary('echo.default.svc:50051', '/xmesh.echo.Echo/Echo', codec.requestSerialize({ message: 'fast path' })))) as { message: string };
      assert.equal(reply.message, 'fast path');
      await waitFor(() => u.grpcShadow.seen.length === before + 1, 'the fast call\'s copy');
      const copy = u.grpcShadow.seen[before]!;
      assert.equal(copy.host, 'echo.default.svc-shadow:50051');
      assert.equal(copy.body.readUInt32BE(1), copy.body.length - 5);
      assert.ok(copy.body.includes(Buffer.from('fast path')));
    });

    test('gRPC: a unary call is copied (framed message, -shadow authority); a hanging gRPC shadow never holds the call', async () => {
      const before = u.grpcShadow.seen.length;
      const reply = await unary(echo, { message: 'mirrored message' });
      assert.equal(reply.message, 'mirrored message');
      await waitFor(() => u.grpcShadow.seen.length === before + 1, 'the gRPC copy');
      const copy = u.grpcShadow.seen[before]!;
      assert.equal(copy.path, '/xmesh.echo.Echo/Echo');
      assert.equal(copy.host, 'echo.default.svc-shadow:50051');
      assert.equal(copy.headers['content-type'], 'application/grpc');
      assert.equal(copy.body.readUInt32BE(1), copy.body.length - 5, 'one length-prefixed message');
      assert.ok(copy.body.includes(Buffer.from('mirrored message')));

      const md = new grpc.Metadata();
      md.set('x-shadow', 'hang');
      const replies = await within(Promise.all(Array.from({ length: 5 }, () => unary(echo, { message: 'held copy' }, {}, 'Echo', md))), 10_000, 'gRPC calls whose copies hang');
      assert.deepEqual(replies.map((r) => r.message), Array(5).fill('held copy'));
      await waitFor(() => u.grpcHang.held === 5, 'the 5 gRPC copies held');
    });

    test('a client-streaming call is copied once the caller half-closes, its messages whole', async () => {
      const before = u.grpcShadow.seen.length;
      const reply = await new Promise<{ message: string }>((resolve, reject) => {
        const call = echo.ClientStream((error: grpc.ServiceError | null, value: { message: string }) => (error ? reject(error) : resolve(value)));
        call.write({ message: 'one' });
        call.write({ message: 'two' });
        call.end();
      });
      assert.equal(reply.message, 'one,two');
      await waitFor(() => u.grpcShadow.seen.length === before + 1, 'the streamed copy');
      const copy = u.grpcShadow.seen[before]!;
      assert.equal(copy.path, '/xmesh.echo.Echo/ClientStream');
      assert.ok(copy.body.includes(Buffer.from('one')) && copy.body.includes(Buffer.from('two')));
    });
  });
}
