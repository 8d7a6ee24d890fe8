// Envoy's compressor filter (envoy.filters.http.compressor) in both modes from one config, against a stock
// node:http upstream and clients that are undici (`request`, `fetch`) and node:http, the bytes checked with
// node:zlib's own decoders: gzip, brotli and zstd libraries; Accept-Encoding negotiation with q-values,
// `identity` and `*` as Envoy's docs state them; the responses Envoy leaves alone (Content-Encoding already
// set, Cache-Control no-transform, too short, content type, HEAD, uncompressible status, ETag with
// disable_on_etag_header); Vary, strong ETag removed or weakened (weaken_etag_on_compress), Content-Length removed; per-route disabled and
// remove_accept_encoding_header; streaming (each upstream chunk reaches the client before the next is
// sent); stats; a gRPC call passes untouched. The filter config follows envoyproxy/examples gzip/envoy.yaml.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, get as httpGet, type Server } from 'node:http';
import * as zlib from 'node:zlib';
import * as grpc from '@grpc/grpc-js';
import { request } from 'undici';
import type { Mesh } from '@xmesh/client';
import type { Sidecar } from '@xmesh/sidecar';
import { listenLocal, startBothModes, type BothModes } from '../support/both-modes.js';
import { loadEcho, startEchoServer, type EchoClient, type EchoServer } from '../support/echo-server.js';
import { unary } from '../support/grpc-call.js';
import { bootstrap } from '../support/mesh-config.js';

const { EchoClient: EchoCtor } = loadEcho();
const COMPRESSOR = 'type.googleapis.com/envoy.extensions.filters.http.compressor.v3.Compressor';
const PER_ROUTE = 'type.googleapis.com/envoy.extensions.filters.http.compressor.v3.CompressorPerRoute';
const ROUTER = { name: 'envoy.filters.http.router', typed_config: { '@type': 'type.googleapis.com/envoy.extensions.filters.http.router.v3.Router' } };
const TEXT = 'The quick brown fox jumps over the lazy dog. '.repeat(40);

interface Raw { status: number; headers: Record<string, string>; body: Buffer }

function decode(encoding: string | undefined, body: Buffer): string {
  switch (encoding) {
    case 'gzip': return zlib.gunzipSync(body).toString();
    case 'br': return zlib.brotliDecompressSync(body).toString();
    case 'zstd': return (zlib as unknown as { zstdDecompressSync(b: Buffer): Buffer }).zstdDecompressSync(body).toString();
    case undefined: return body.toString();
    default: throw new Error(`unexpected content-encoding ${encoding}`);
  }
}

describe('compressor filter', () => {
  let web: Server;
  let echo: EchoServer;
  let both: BothModes;
  let mesh: Mesh;
  let sidecar: Sidecar;
  const seenAcceptEncoding: (string | undefined)[] = [];
  /** Streaming: the upstream sends its second chunk only once the test saw the first one decoded. */
  let releaseSecond: (() => void) | undefined;

  before(async () => {
    web = createServer((req, res) => {
      seenAcceptEncoding.push(req.headers['accept-encoding']);
      const path = req.url ?? '/';
      const send = (headers: Record<string, string | number>, body: string, status = 200): void => {
        res.writeHead(status, { 'content-length': Buffer.byteLength(body), ...headers });
        res.end(req.method === 'HEAD' ? undefined : body);
      };
      if (path.startsWith('/stream')) {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.write('{"part":1}');
        releaseSecond = () => res.end('{"part":2}');
        return;
      }
      if (path.startsWith('/chunked')) {
        res.writeHead(200, { 'content-type': 'text/plain' });
        for (let i = 0; i < 20; i++) res.write(TEXT);
        res.end();
        return;
      }
      if (path.startsWith('/small')) return send({ 'content-type': 'text/plain' }, 'tiny');
      if (path.startsWith('/image')) return send({ 'content-type': 'image/png' }, TEXT);
      if (path.startsWith('/encoded')) return send({ 'content-type': 'text/plain', 'content-encoding': 'identity' }, TEXT);
      if (path.startsWith('/no-transform')) return send({ 'content-type': 'text/plain', 'cache-control': 'public, no-transform' }, TEXT);
      if (path.startsWith('/etag')) return send({ 'content-type': 'text/plain', etag: '"v1"', vary: 'Origin' }, TEXT);
      if (path.startsWith('/weak-etag')) return send({ 'content-type': 'text/plain', etag: 'W/"v2"' }, TEXT);
      if (path.startsWith('/partial')) return send({ 'content-type': 'text/plain' }, TEXT, 206);
      return send({ 'content-type': 'text/plain; charset=utf-8' }, TEXT);
    });
    const webAddress = await listenLocal(web);
    echo = await startEchoServer('echo');
    const library = (name: string, typed: object) => ({ name, typed_config: typed });
    const cfg = bootstrap({
      routes: [
        { match: { prefix: '/plain' }, route: { cluster: 'web' }, typed_per_filter_config: { gzip: { '@type': PER_ROUTE, disabled: true }, brotli: { '@type': PER_ROUTE, disabled: true }, zstd: { '@type': PER_ROUTE, disabled: true } } },
        { match: { prefix: '/strip' }, route: { cluster: 'web' }, typed_per_filter_config: { gzip: { '@type': PER_ROUTE, overrides: { response_direction_config: { remove_accept_encoding_header: true } } } } },
        { match: { prefix: '/xmesh.echo.Echo/' }, route: { cluster: 'echo' } },
        { match: { prefix: '/' }, route: { cluster: 'web' } },
      ],
      clusters: { web: [webAddress], echo: [echo.address] },
      http2: ['echo'],
      hcm: {
        http_filters: [
          { name: 'gzip', typed_config: {
            '@type': COMPRESSOR,
            response_direction_config: {
              common_config: { min_content_length: 100, content_type: ['text/plain', 'application/json'], enabled: { default_value: true, runtime_key: 'response_compressor_enabled' } },
              uncompressible_response_codes: [206],
            },
            request_direction_config: { common_config: { enabled: { default_value: false, runtime_key: 'request_compressor_enabled' } } },
            compressor_library: library('text_optimized', { '@type': 'type.googleapis.com/envoy.extensions.compression.gzip.compressor.v3.Gzip', memory_level: 3, window_bits: 10, compression_level: 'BEST_COMPRESSION', compression_strategy: 'DEFAULT_STRATEGY', chunk_size: 4096 }),
          } },
          { name: 'brotli', typed_config: {
            '@type': COMPRESSOR,
            response_direction_config: { common_config: { min_content_length: 100, content_type: ['text/plain', 'application/json'] }, disable_on_etag_header: true, uncompressible_response_codes: [206] },
            compressor_library: library('text_optimized', { '@type': 'type.googleapis.com/envoy.extensions.compression.brotli.compressor.v3.Brotli', quality: 4, window_bits: 12, input_block_bits: 16, encoder_mode: 'TEXT', disable_literal_context_modeling: true, chunk_size: 4096 }),
          } },
          { name: 'zstd', typed_config: {
            '@type': COMPRESSOR,
            response_direction_config: { common_config: { min_content_length: 100, content_type: ['text/plain', 'application/json'] }, uncompressible_response_codes: [206], disable_on_etag_header: true, weaken_etag_on_compress: true },
            compressor_library: library('text_optimized', { '@type': 'type.googleapis.com/envoy.extensions.compression.zstd.compressor.v3.Zstd', compression_level: 7, enable_checksum: true, strategy: 'LAZY', chunk_size: 4096 }),
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
    await echo.close();
  });

  const modes = (): [string, (path: string, headers?: Record<string, string>, method?: string) => Promise<Raw>][] => [
    ['embedded', async (path, headers = {}, method = 'GET') => {
      const res = await request(`http://web.svc:8080${path}`, { method: method as 'GET', headers, dispatcher: mesh.dispatcher });
      return raw(res.statusCode, res.headers, Buffer.from(await res.body.arrayBuffer()));
    }],
    ['sidecar', async (path, headers = {}, method = 'GET') => {
      const res = await request(`http://${sidecar.target}${path}`, { method: method as 'GET', headers: { host: 'web.svc:8080', ...headers } });
      return raw(res.statusCode, res.headers, Buffer.from(await res.body.arrayBuffer()));
    }],
  ];

  function raw(status: number, headers: Record<string, string | string[] | undefined>, body: Buffer): Raw {
    const out: Record<string, string> = {};
    for (const [k, v] of Object.entries(headers)) if (v !== undefined) out[k] = Array.isArray(v) ? v.join(',') : v;
    return { status, headers: out, body };
  }

  test('Accept-Encoding picks the library as Envoy\'s docs state: q-values, identity, *, q=0; the body decodes with node:zlib', async () => {
    const cases: [string | undefined, string | undefined][] = [
      ['gzip', 'gzip'],
      ['br', 'br'],
      ['zstd', 'zstd'],
      ['gzip;q=0.5, br;q=0.8', 'br'],
      ['GZIP', 'gzip'],
      ['deflate', undefined],
      [undefined, undefined],
      ['identity', undefined],
      ['gzip;q=0.2, identity;q=0.9', undefined],
      // `*` is the first registered compressor (the chain's first, gzip).
      ['*', 'gzip'],
      // "gzip;q=0,*;q=1": gzip is never used; `*` takes the next one registered.
      ['gzip;q=0, *;q=1', 'br'],
      ['*;q=0, gzip;q=1', 'gzip'],
      // A q-value that does not parse: that entry is skipped.
      ['br;q=abc, gzip', 'gzip'],
    ];
    for (const [mode, send] of modes()) {
      for (const [accept, expected] of cases) {
        const res = await send('/text', accept === undefined ? {} : { 'accept-encoding': accept });
        const label = `${mode} ${accept}`;
        assert.equal(res.status, 200, label);
        assert.equal(res.headers['content-encoding'], expected, label);
        assert.equal(decode(expected, res.body), TEXT, label);
        // Compressible: Vary is added whether or not this client got it compressed.
        assert.equal(res.headers.vary, 'Accept-Encoding', label);
        if (expected !== undefined) {
          assert.equal(res.headers['content-length'], undefined, label);
          assert.ok(res.body.length < TEXT.length, label);
        } else {
          assert.equal(res.headers['content-length'], String(TEXT.length), label);
        }
      }
    }
  });

  test('responses Envoy leaves alone: encoded already, no-transform, too short, other content type, HEAD, uncompressible status, ETag with disable_on_etag_header', async () => {
    for (const [mode, send] of modes()) {
      for (const path of ['/encoded', '/no-transform', '/small', '/image', '/partial']) {
        const res = await send(path, { 'accept-encoding': 'gzip, br' });
        assert.equal(res.headers['content-encoding'], path === '/encoded' ? 'identity' : undefined, `${mode} ${path}`);
        assert.equal(res.headers.vary, undefined, `${mode} ${path}`);
        assert.equal(res.body.toString(), path === '/small' ? 'tiny' : TEXT, `${mode} ${path}`);
      }
      const head = await send('/text', { 'accept-encoding': 'gzip' }, 'HEAD');
      assert.deepEqual([head.status, head.headers['content-encoding'], head.body.length], [200, undefined, 0], `${mode} HEAD`);
      // brotli has disable_on_etag_header: an ETag keeps it out. gzip still compresses and removes the
      // strong ETag; zstd has weaken_etag_on_compress too, which wins: it compresses and makes the ETag weak.
      const etagBr = await send('/etag', { 'accept-encoding': 'br' });
      assert.deepEqual([etagBr.headers['content-encoding'], etagBr.headers.etag, etagBr.body.toString()], [undefined, '"v1"', TEXT], `${mode} etag br`);
      const etagGzip = await send('/etag', { 'accept-encoding': 'gzip' });
      assert.deepEqual([etagGzip.headers['content-encoding'], etagGzip.headers.etag, etagGzip.headers.vary], ['gzip', undefined, 'Origin, Accept-Encoding'], `${mode} etag gzip`);
      assert.equal(decode('gzip', etagGzip.body), TEXT);
      const weakGzip = await send('/weak-etag', { 'accept-encoding': 'gzip' });
      assert.deepEqual([weakGzip.headers['content-encoding'], weakGzip.headers.etag], ['gzip', 'W/"v2"'], `${mode} weak etag gzip`);
      const etagZstd = await send('/etag', { 'accept-encoding': 'zstd' });
      assert.deepEqual([etagZstd.headers['content-encoding'], etagZstd.headers.etag], ['zstd', 'W/"v1"'], `${mode} etag zstd`);
      assert.equal(decode('zstd', etagZstd.body), TEXT);
    }
  });

  test('per route: disabled sends the body as it came; remove_accept_encoding_header keeps Accept-Encoding from the upstream', async () => {
    for (const [mode, send] of modes()) {
      const plain = await send('/plain', { 'accept-encoding': 'gzip, br, zstd' });
      assert.deepEqual([plain.headers['content-encoding'], plain.headers.vary, plain.body.toString()], [undefined, undefined, TEXT], mode);
      seenAcceptEncoding.length = 0;
      const stripped = await send('/strip', { 'accept-encoding': 'gzip' });
      assert.equal(stripped.headers['content-encoding'], 'gzip', mode);
      assert.equal(decode('gzip', stripped.body), TEXT);
      assert.deepEqual(seenAcceptEncoding, [undefined], mode);
      seenAcceptEncoding.length = 0;
      await send('/text', { 'accept-encoding': 'gzip' });
      assert.deepEqual(seenAcceptEncoding, ['gzip'], mode);
    }
  });

  test('a chunked response is compressed as it streams: each upstream chunk reaches the client before the next is sent', async () => {
    for (const [mode, dispatcher, origin] of [['embedded', mesh.dispatcher, 'http://web.svc:8080'], ['sidecar', undefined, `http://${sidecar.target}`]] as const) {
      const res = await request(`${origin}/stream`, { headers: { host: 'web.svc:8080', 'accept-encoding': 'gzip' }, ...(dispatcher === undefined ? {} : { dispatcher }) });
      assert.equal(res.headers['content-encoding'], 'gzip', mode);
      const gunzip = zlib.createGunzip();
      res.body.pipe(gunzip);
      let text = '';
      await new Promise<void>((resolve, reject) => {
        gunzip.on('data', (chunk: Buffer) => {
          text += chunk.toString();
          // The second part is sent only now: the first came through without waiting for the end.
          if (text === '{"part":1}') releaseSecond!();
        });
        gunzip.on('end', resolve);
        gunzip.on('error', reject);
      });
      assert.equal(text, '{"part":1}{"part":2}', mode);
      const big = await send(mode, '/chunked');
      assert.equal(decode('gzip', big), TEXT.repeat(20), mode);
    }
    async function send(mode: string, path: string): Promise<Buffer> {
      if (mode === 'embedded') {
        const res = await request(`http://web.svc:8080${path}`, { headers: { 'accept-encoding': 'gzip' }, dispatcher: mesh.dispatcher });
        return Buffer.from(await res.body.arrayBuffer());
      }
      // node:http as the client.
      return new Promise((resolve, reject) => {
        httpGet(`http://${sidecar.target}${path}`, { headers: { host: 'web.svc:8080', 'accept-encoding': 'gzip' } }, (res) => {
          assert.equal(res.headers['content-encoding'], 'gzip');
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => resolve(Buffer.concat(chunks)));
          res.on('error', reject);
        }).on('error', reject);
      });
    }
  });

  test('fetch (undici) reads a compressed response as the uncompressed text, in both modes', async () => {
    const embedded = await mesh.fetch('http://web.svc:8080/text', { headers: { 'accept-encoding': 'br' } });
    assert.deepEqual([embedded.headers.get('content-encoding'), await embedded.text()], ['br', TEXT]);
    const viaSidecar = await fetch(`http://${sidecar.target}/text`, { headers: { 'accept-encoding': 'gzip' } });
    // undici's fetch sends Host from the URL; the sidecar's catch-all domain routes it to the same cluster.
    assert.deepEqual([viaSidecar.headers.get('content-encoding'), await viaSidecar.text()], ['gzip', TEXT]);
  });

  test('stats under <stat_prefix>compressor.<library name>.<gzip|brotli|zstd>', async () => {
    const [, send] = modes()[1]!;
    const stat = (name: string): number => sidecar.mesh.observability.store.value(name) ?? 0;
    const before = { compressed: stat('http.mesh.compressor.text_optimized.gzip.compressed'), used: stat('http.mesh.compressor.text_optimized.gzip.header_compressor_used') };
    await send('/text', { 'accept-encoding': 'gzip' });
    assert.equal(stat('http.mesh.compressor.text_optimized.gzip.compressed'), before.compressed + 1);
    assert.equal(stat('http.mesh.compressor.text_optimized.gzip.header_compressor_used'), before.used + 1);
    assert.ok(stat('http.mesh.compressor.text_optimized.gzip.total_uncompressed_bytes') >= TEXT.length);
    assert.ok(stat('http.mesh.compressor.text_optimized.gzip.total_compressed_bytes') > 0);
    const tooSmall = stat('http.mesh.compressor.text_optimized.brotli.content_length_too_small');
    await send('/small', { 'accept-encoding': 'br' });
    assert.equal(stat('http.mesh.compressor.text_optimized.brotli.content_length_too_small'), tooSmall + 1);
    const noAccept = stat('http.mesh.compressor.text_optimized.zstd.no_accept_header');
    await send('/text');
    assert.equal(stat('http.mesh.compressor.text_optimized.zstd.no_accept_header'), noAccept + 1);
    const etag = stat('http.mesh.compressor.text_optimized.brotli.not_compressed_etag');
    await send('/etag', { 'accept-encoding': 'br' });
    assert.equal(stat('http.mesh.compressor.text_optimized.brotli.not_compressed_etag'), etag + 1);
  });

  test('gRPC passes untouched (application/grpc is not a compressible content type)', async () => {
    const drop = mesh.grpcClient(EchoCtor, 'echo.svc') as EchoClient;
    const stock = new EchoCtor(sidecar.target, grpc.credentials.createInsecure(), { 'grpc.default_authority': 'echo.svc' }) as EchoClient;
    try {
      for (const client of [drop, stock]) {
        const metadata = new grpc.Metadata();
        metadata.set('accept-encoding', 'gzip, br');
        const reply = await unary(client, { message: 'x'.repeat(500) }, {}, 'Echo', metadata);
        assert.equal(reply.message, 'x'.repeat(500));
      }
    } finally {
      drop.close();
      stock.close();
    }
  });
});

