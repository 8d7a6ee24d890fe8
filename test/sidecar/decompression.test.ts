// Envoy's decompressor filter (envoy.filters.http.decompressor) in both modes from one config, against a
// stock node:http upstream, with undici and node:zlib on the client side: gzip request bodies reach the
// upstream decoded (Content-Encoding and Content-Length removed), gzip responses reach the client decoded
// and Accept-Encoding advertises gzip upstream; a decompressor after a compressor in the chain decodes the
// upstream's gzip and the compressor re-encodes it with brotli for a client that asks for it; a corrupt gzip
// body and a gzip bomb (over max_inflate_ratio) end the call with a typed outcome — 400 for a request body,
// a reset once a response's headers went out — the process staying alive and the next call served.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import * as zlib from 'node:zlib';
import { request } from 'undici';
import type { Mesh } from '@xmesh/client';
import type { Sidecar } from '@xmesh/sidecar';
import { listenLocal, startBothModes, type BothModes } from '../support/both-modes.js';
import { bootstrap } from '../support/mesh-config.js';

const ROUTER = { name: 'envoy.filters.http.router', typed_config: { '@type': 'type.googleapis.com/envoy.extensions.filters.http.router.v3.Router' } };
/** Text that compresses about as well as prose (well under the 20× bound). */
const TEXT = Array.from({ length: 400 }, (_, i) => `${(i * 7919) % 1009}:${(i * 104729).toString(36)}`).join(' ');
/** 16 MB of zeros in about 16 KB of gzip: a ratio near 1000, over the filter's max_inflate_ratio of 20. */
const BOMB = zlib.gzipSync(Buffer.alloc(16 * 1024 * 1024), { level: 9 });
const CORRUPT = Buffer.concat([zlib.gzipSync(Buffer.from(TEXT)).subarray(0, 30), Buffer.from('this is not deflate data at all')]);

interface Seen { body: Buffer; headers: Record<string, string | string[] | undefined> }

describe('decompressor filter', () => {
  let web: Server;
  let both: BothModes;
  let mesh: Mesh;
  let sidecar: Sidecar;
  let seen: Seen[] = [];

  before(async () => {
    web = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('error', () => {});
      req.on('end', () => {
        seen.push({ body: Buffer.concat(chunks), headers: req.headers });
        const path = req.url ?? '/';
        if (path.startsWith('/gzipped')) {
          res.writeHead(200, { 'content-type': 'text/plain', 'content-encoding': 'gzip' });
          res.end(zlib.gzipSync(Buffer.from(TEXT)));
        } else if (path.startsWith('/bomb')) {
          res.writeHead(200, { 'content-type': 'text/plain', 'content-encoding': 'gzip' });
          res.end(BOMB);
        } else if (path.startsWith('/corrupt')) {
          res.writeHead(200, { 'content-type': 'text/plain', 'content-encoding': 'gzip' });
          res.end(CORRUPT);
        } else {
          res.writeHead(200, { 'content-type': 'text/plain' });
          res.end(`got ${Buffer.concat(chunks).length}`);
        }
      });
    });
    const cfg = bootstrap({
      routes: [{ match: { prefix: '/' }, route: { cluster: 'web' } }],
      clusters: { web: [await listenLocal(web)] },
      hcm: {
        http_filters: [
          { name: 'envoy.filters.http.compressor', typed_config: {
            '@type': 'type.googleapis.com/envoy.extensions.filters.http.compressor.v3.Compressor',
            choose_first: true,
            compressor_library: { name: 'text', typed_config: { '@type': 'type.googleapis.com/envoy.extensions.compression.brotli.compressor.v3.Brotli' } },
          } },
          { name: 'envoy.filters.http.decompressor', typed_config: {
            '@type': 'type.googleapis.com/envoy.extensions.filters.http.decompressor.v3.Decompressor',
            decompressor_library: { name: 'upload', typed_config: { '@type': 'type.googleapis.com/envoy.extensions.compression.gzip.decompressor.v3.Gzip', window_bits: 15, chunk_size: 8192, max_inflate_ratio: 20 } },
            request_direction_config: { common_config: { enabled: { default_value: true, runtime_key: 'request_decompressor_enabled' }, ignore_no_transform_header: false }, advertise_accept_encoding: true },
            response_direction_config: { common_config: { enabled: { default_value: true, runtime_key: 'response_decompressor_enabled' } } },
          } },
          { name: 'brotli-decompressor', typed_config: {
            '@type': 'type.googleapis.com/envoy.extensions.filters.http.decompressor.v3.Decompressor',
            decompressor_library: { name: 'br', typed_config: { '@type': 'type.googleapis.com/envoy.extensions.compression.brotli.decompressor.v3.Brotli', chunk_size: 4096 } },
            request_direction_config: { advertise_accept_encoding: false },
            response_direction_config: { common_config: { enabled: { default_value: false } } },
          } },
          { name: 'zstd-decompressor', typed_config: {
            '@type': 'type.googleapis.com/envoy.extensions.filters.http.decompressor.v3.Decompressor',
            decompressor_library: { name: 'zstd', typed_config: { '@type': 'type.googleapis.com/envoy.extensions.compression.zstd.decompressor.v3.Zstd', chunk_size: 4096 } },
            response_direction_config: { common_config: { enabled: { default_value: false } } },
          } },
          ROUTER,
        ],
      },
    });
    ({ mesh, sidecar } = both = await startBothModes(cfg));
  });
  after(async () => {
    await both.close();
    web.close();
  });

  type Send = (path: string, init?: { method?: string; headers?: Record<string, string>; body?: Buffer }) => Promise<{ status: number; headers: Record<string, string | string[] | undefined>; body: Buffer }>;
  const modes = (): [string, Send][] => [
    ['embedded', async (path, init = {}) => {
      const res = await request(`http://web.svc:8080${path}`, { method: (init.method ?? 'GET') as 'GET', headers: init.headers ?? {}, body: init.body ?? null, dispatcher: mesh.dispatcher });
      return { status: res.statusCode, headers: res.headers, body: Buffer.from(await res.body.arrayBuffer()) };
    }],
    ['sidecar', async (path, init = {}) => {
      const res = await request(`http://${sidecar.target}${path}`, { method: (init.method ?? 'GET') as 'GET', headers: { host: 'web.svc:8080', ...init.headers }, body: init.body ?? null });
      return { status: res.statusCode, headers: res.headers, body: Buffer.from(await res.body.arrayBuffer()) };
    }],
  ];

  test('request direction: a gzip, brotli or zstd body reaches the upstream decoded, without its Content-Encoding and Content-Length', async () => {
    const zstd = (zlib as unknown as { zstdCompressSync(b: Buffer): Buffer }).zstdCompressSync;
    for (const [mode, send] of modes()) {
      for (const [encoding, body] of [['gzip', zlib.gzipSync(TEXT)], ['br', zlib.brotliCompressSync(TEXT)], ['zstd', zstd(Buffer.from(TEXT))]] as const) {
        seen = [];
        const res = await send('/upload', { method: 'POST', headers: { 'content-encoding': encoding, 'content-type': 'text/plain' }, body });
        assert.equal(res.status, 200, `${mode} ${encoding} ${res.body.toString()}`);
        assert.equal(res.body.toString(), `got ${TEXT.length}`, `${mode} ${encoding}`);
        assert.equal(seen[0]!.body.toString(), TEXT);
        assert.equal(seen[0]!.headers['content-encoding'], undefined, `${mode} ${encoding}`);
        assert.notEqual(seen[0]!.headers['content-length'], String(body.length), `${mode} ${encoding}`);
      }
      // Cache-Control: no-transform keeps the body as it is (ignore_no_transform_header is false).
      seen = [];
      const kept = zlib.gzipSync(TEXT);
      await send('/upload', { method: 'POST', headers: { 'content-encoding': 'gzip', 'cache-control': 'no-transform' }, body: kept });
      assert.deepEqual([seen[0]!.headers['content-encoding'], seen[0]!.body.equals(kept)], ['gzip', true], mode);
    }
  });

  test('response direction: gzip is advertised upstream and the gzip response reaches the client decoded; a client asking for br gets it re-encoded by the compressor before it in the chain', async () => {
    for (const [mode, send] of modes()) {
      seen = [];
      const plain = await send('/gzipped');
      assert.equal(plain.status, 200, mode);
      assert.equal(plain.headers['content-encoding'], undefined, mode);
      assert.equal(plain.body.toString(), TEXT, mode);
      assert.equal(seen[0]!.headers['accept-encoding'], 'gzip', `${mode}: advertise_accept_encoding`);
      const br = await send('/gzipped', { headers: { 'accept-encoding': 'br' } });
      assert.equal(br.headers['content-encoding'], 'br', mode);
      assert.equal(zlib.brotliDecompressSync(br.body).toString(), TEXT, mode);
    }
    const store = sidecar.mesh.observability.store;
    assert.ok((store.value('http.mesh.decompressor.upload.gzip.response.decompressed') ?? 0) >= 2);
    assert.ok((store.value('http.mesh.decompressor.upload.gzip.request.not_decompressed') ?? 0) >= 2);
    assert.ok((store.value('http.mesh.decompressor.upload.gzip.response.total_uncompressed_bytes') ?? 0) >= 2 * TEXT.length);
  });

  test('a gzip bomb or a corrupt gzip request body is answered 400 in both modes; the process stays up', async () => {
    for (const [mode, send] of modes()) {
      for (const body of [BOMB, CORRUPT]) {
        const res = await send('/upload', { method: 'POST', headers: { 'content-encoding': 'gzip' }, body });
        assert.equal(res.status, 400, `${mode} ${body === BOMB ? 'bomb' : 'corrupt'}`);
        assert.equal(res.headers['x-xmesh-error-code'], 'XMESH_PROTOCOL', mode);
      }
      const after = await send('/upload', { method: 'POST', headers: { 'content-encoding': 'gzip' }, body: zlib.gzipSync(TEXT) });
      assert.equal(after.body.toString(), `got ${TEXT.length}`, mode);
    }
  });

  test('a gzip bomb or a corrupt gzip response ends the call (headers already sent: an error, never a hang or a crash); the heap stays bounded', async () => {
    for (const [mode, send] of modes()) {
      for (const path of ['/corrupt', '/bomb']) {
        const heapBefore = process.memoryUsage().heapUsed;
        const outcome = await send(path).then((res) => ({ ok: true as const, length: res.body.length }), (error: Error) => ({ ok: false as const, error }));
        assert.equal(outcome.ok, false, `${mode} ${path}: the body must not end normally`);
        assert.ok(!outcome.ok && outcome.error instanceof Error, `${mode} ${path}`);
        assert.ok(process.memoryUsage().heapUsed - heapBefore < 64 * 1024 * 1024, `${mode} ${path}: heap`);
      }
      const after = await send('/gzipped');
      assert.equal(after.body.toString(), TEXT, mode);
    }
  });
});
