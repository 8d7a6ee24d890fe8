// Hostile upstreams behind the sidecar, which runs in its own process: garbage instead of HTTP/2, a
// 4 GiB gRPC length prefix, truncation, RST_STREAM mid-message, GOAWAY after headers, an upstream
// that never answers, 10,000 trailers or headers, bad statuses over HTTP/1.1 and HTTP/2, a truncated
// HTTP/1.1 body. Calls come from a stock grpc-js client and undici; per case: the process lives,
// every call ends with a typed error within its bound, good clients on good upstreams keep being
// served (>= 99 % OK), and memory after GC returns near where it was.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer as createNetServer, type Server as NetServer, type Socket } from 'node:net';
import { constants } from 'node:http2';
import * as grpc from '@grpc/grpc-js';
import { request } from 'undici';
import { startSidecarProcess, type SidecarProcess } from './support/sidecar-process.js';
import { GoodTraffic } from './support/good-traffic.js';
import { grpcPrefix, startRawUpstream, type RawStream, type RawUpstream } from './support/raw-h2.js';
import { runCase, type AttackOutcome } from './support/suite-figures.js';
import { hostileConfig, startGoodUpstreams, type GoodUpstreams, type HostileRoute } from './support/topology.js';

const GRPC_RESPONSE: [string, string][] = [[':status', '200'], ['content-type', 'application/grpc']];
const MANY = Array.from({ length: 10_000 }, (_, i) => [`x-flood-${i}`, 'v'] as [string, string]);
/** Every call ends within this (its deadline is shorter). */
const BOUND_MS = 10_000;

/** HTTP/2 upstream scripts, one cluster each (`/h/<name>/`). */
const H2_SCRIPTS: Record<string, (s: RawStream) => void> = {
  prefix4g: (s) => {
    s.headers(GRPC_RESPONSE);
    s.data(grpcPrefix(0xffff_ffff));
  },
  truncate: (s) => {
    s.headers(GRPC_RESPONSE);
    s.data(Buffer.concat([grpcPrefix(100), Buffer.alloc(10)]));
    setTimeout(() => s.socket.destroy(), 20);
  },
  rstMid: (s) => {
    s.headers(GRPC_RESPONSE);
    s.data(Buffer.concat([grpcPrefix(100), Buffer.alloc(10)]));
    setTimeout(() => s.rst(constants.NGHTTP2_INTERNAL_ERROR), 20);
  },
  goawayAfterHeaders: (s) => {
    s.headers(GRPC_RESPONSE);
    setTimeout(() => s.goaway(constants.NGHTTP2_INTERNAL_ERROR), 20);
  },
  silent: () => undefined,
  trailers10k: (s) => {
    s.headers(GRPC_RESPONSE);
    s.data(grpcPrefix(0));
    s.headers([['grpc-status', '0'], ...MANY], true);
  },
  headers10k: (s) => s.headers([...GRPC_RESPONSE, ...MANY]),
  status0: (s) => s.headers([[':status', '0']], true),
  statusMissing: (s) => s.headers([['content-type', 'application/grpc']], true),
};

/** HTTP/1.1 upstream answers (raw bytes), one cluster each. */
const H1_ANSWERS: Record<string, string | ((socket: Socket) => void)> = {
  h1Zero: 'HTTP/1.1 000 Zero\r\ncontent-length: 2\r\n\r\nok',
  h1Over: 'HTTP/1.1 600 Big\r\ncontent-length: 2\r\n\r\nok',
  h1Garbage: '\x00\x01\x02 garbage \xff\r\n\r\n',
  h1Truncated: (socket) => {
    socket.write('HTTP/1.1 200 OK\r\ncontent-length: 100\r\n\r\nonly ten b');
    setTimeout(() => socket.destroy(), 20);
  },
  h1BadChunks: 'HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\nzz\r\nnot a chunk\r\n',
  h1Headers10k: `HTTP/1.1 200 OK\r\n${MANY.map(([n, v]) => `${n}: ${v}\r\n`).join('')}content-length: 0\r\n\r\n`,
};

describe('hostile upstreams behind the sidecar (own process)', () => {
  let good: GoodUpstreams;
  const raws: RawUpstream[] = [];
  const h1Servers: NetServer[] = [];
  let garbage: RawUpstream;
  let sidecar: SidecarProcess;
  let traffic: GoodTraffic;
  let client: grpc.Client;

  before(async () => {
    good = await startGoodUpstreams();
    const routes: Record<string, HostileRoute> = {};
    for (const [name, script] of Object.entries(H2_SCRIPTS)) {
      const raw = await startRawUpstream(script);
      raws.push(raw);
      routes[name] = { address: raw.address, http2: true, timeout: name === 'silent' ? '1s' : '5s' };
    }
    garbage = await startRawUpstream(() => undefined, (socket) => socket.end(Buffer.from('this is not HTTP/2 at all\r\n\r\n\x00\xff\x00\xff')));
    routes.garbage = { address: garbage.address, http2: true };
    for (const [name, answer] of Object.entries(H1_ANSWERS)) {
      const server = createNetServer((socket) => {
        socket.on('error', () => undefined);
        socket.once('data', () => (typeof answer === 'string' ? socket.end(answer, 'latin1') : answer(socket)));
      });
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      h1Servers.push(server);
      routes[name] = { address: `127.0.0.1:${(server.address() as { port: number }).port}`, http2: false };
    }
    sidecar = await startSidecarProcess({ config: hostileConfig(good, routes) });
    traffic = new GoodTraffic(sidecar.target, '/web/ok');
    await traffic.warm();
    client = new grpc.Client(sidecar.target, grpc.credentials.createInsecure(), { 'grpc.use_local_subchannel_pool': 1 });
  });

  after(async () => {
    client?.close();
    await traffic?.close();
    await sidecar?.stop();
    await Promise.all([...raws, garbage].map((r) => r?.close()));
    for (const server of h1Servers) server.close();
    await good?.close();
  });

  /** `count` stock grpc-js unary calls to `/h/<name>/`; each must fail with one of `codes` within the bound. */
  async function grpcCalls(name: string, count: number, codes: readonly grpc.status[]): Promise<AttackOutcome & { seen: Set<string> }> {
    const seen = new Set<string>();
    const results = await Promise.all(Array.from({ length: count }, () => new Promise<boolean>((resolve) => {
      const started = Date.now();
      client.makeUnaryRequest(`/h/${name}/svc.Hostile/Call`, (b: Buffer) => b, (b: Buffer) => b, Buffer.from('request'), new grpc.Metadata(), { deadline: Date.now() + 5000 }, (error) => {
        seen.add(error ? `${grpc.status[error.code]}` : 'OK');
        resolve(error !== null && codes.includes(error.code) && Date.now() - started < BOUND_MS);
      });
    })));
    return { attacks: count, handled: results.filter(Boolean).length, seen };
  }

  /** `count` undici GETs to `/h/<name>/`; each must end as `expect` says within the bound. */
  async function httpCalls(name: string, count: number, expect: (status: number | undefined, error: string | undefined) => boolean): Promise<AttackOutcome & { seen: Set<string> }> {
    const seen = new Set<string>();
    const results = await Promise.all(Array.from({ length: count }, async () => {
      const started = Date.now();
      let status: number | undefined;
      let error: string | undefined;
      try {
        const res = await request(`http://${sidecar.target}/h/${name}/x`, { headersTimeout: 5000, bodyTimeout: 5000 });
        status = res.statusCode;
        await res.body.text();
      } catch (e) {
        error = (e as { code?: string }).code ?? (e as Error).message;
      }
      seen.add(`${status ?? ''}${error ? ` ${error}` : ''}`);
      return expect(status, error) && Date.now() - started < BOUND_MS;
    }));
    return { attacks: count, handled: results.filter(Boolean).length, seen };
  }

  const cases: [string, () => Promise<AttackOutcome & { seen: Set<string> }>][] = [
    ['garbage instead of HTTP/2: UNAVAILABLE or INTERNAL', () => grpcCalls('garbage', 20, [grpc.status.UNAVAILABLE, grpc.status.INTERNAL])],
    ['a 4 GiB length prefix: RESOURCE_EXHAUSTED at once', () => grpcCalls('prefix4g', 20, [grpc.status.RESOURCE_EXHAUSTED])],
    ['truncation (the connection drops mid-message): the call fails', () => grpcCalls('truncate', 20, [grpc.status.INTERNAL, grpc.status.UNAVAILABLE, grpc.status.CANCELLED])],
    ['RST_STREAM mid-message: the client stream is reset', () => grpcCalls('rstMid', 20, [grpc.status.INTERNAL, grpc.status.UNAVAILABLE])],
    ['GOAWAY(INTERNAL_ERROR) after headers: the client stream is reset', () => grpcCalls('goawayAfterHeaders', 20, [grpc.status.INTERNAL, grpc.status.UNAVAILABLE])],
    ['an upstream that never answers: DEADLINE_EXCEEDED at the 1 s route timeout', () => grpcCalls('silent', 20, [grpc.status.DEADLINE_EXCEEDED])],
    ['10,000 trailers: the client stream is reset', () => grpcCalls('trailers10k', 10, [grpc.status.INTERNAL, grpc.status.UNAVAILABLE])],
    ['10,000 response headers: UNAVAILABLE before headers', () => grpcCalls('headers10k', 10, [grpc.status.UNAVAILABLE, grpc.status.INTERNAL])],
    ['HTTP/2 :status 0 and a missing :status: UNAVAILABLE (502, XMESH_UPSTREAM_PROTOCOL)', async () => {
      const a = await grpcCalls('status0', 10, [grpc.status.UNAVAILABLE]);
      const b = await grpcCalls('statusMissing', 10, [grpc.status.UNAVAILABLE]);
      return { attacks: a.attacks + b.attacks, handled: a.handled + b.handled, seen: new Set([...a.seen, ...b.seen]) };
    }],
    ['HTTP/1.1 status 000, 600, garbage, bad chunks, 10,000 headers: 502; a truncated body: the body fails', async () => {
      const protocol = (status: number | undefined): boolean => status === 502;
      const parts = [
        await httpCalls('h1Zero', 10, protocol),
        await httpCalls('h1Over', 10, protocol),
        await httpCalls('h1Garbage', 10, protocol),
        await httpCalls('h1Headers10k', 10, (status) => status === 502 || status === 503),
        await httpCalls('h1BadChunks', 10, (status, error) => status === 502 || error !== undefined),
        await httpCalls('h1Truncated', 10, (status, error) => status === 200 && error !== undefined),
      ];
      return { attacks: parts.reduce((n, p) => n + p.attacks, 0), handled: parts.reduce((n, p) => n + p.handled, 0), seen: new Set(parts.flatMap((p) => [...p.seen])) };
    }],
  ];

  for (const [name, attack] of cases) {
    test(name, async (t) => {
      await runCase(t, sidecar, traffic, async () => {
        const outcome = await attack();
        t.diagnostic(`outcomes: ${[...outcome.seen].join(', ')}`);
        return outcome;
      });
    });
  }

  test('the process stayed up through every case', () => {
    assert.equal(sidecar.alive(), true, sidecar.stderr());
  });
});
