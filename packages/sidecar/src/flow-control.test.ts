import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { connect, createServer, type ClientHttp2Session, type Http2Server, type Settings } from 'node:http2';
import { CONNECTION_WINDOW, DEFAULT_STREAM_WINDOW, withStreamWindow } from './flow-control.js';
import { startSidecar, type Sidecar } from './sidecar.js';
import { oneClusterBootstrap } from '../test/one-cluster.js';

const BODY_BYTES = 3 * 1024 * 1024 + 17;

test('withStreamWindow fills in the stream window and keeps the rest', () => {
  assert.deepEqual(withStreamWindow(undefined), { initialWindowSize: DEFAULT_STREAM_WINDOW });
  assert.deepEqual(withStreamWindow({ maxConcurrentStreams: 7 }), { maxConcurrentStreams: 7, initialWindowSize: DEFAULT_STREAM_WINDOW });
  assert.deepEqual(withStreamWindow({ initialWindowSize: 1000 }), { initialWindowSize: 1000 });
});

/** What the upstream saw of the sidecar's session when the first request arrived. */
interface UpstreamView {
  streamWindow: number | undefined;
  connectionWindow: number | undefined;
  received: number;
}

/** An h2c upstream that counts the request body and answers with `BODY_BYTES` bytes. */
async function startUpstream(): Promise<{ server: Http2Server; port: number; view: UpstreamView }> {
  const server = createServer();
  const view: UpstreamView = { streamWindow: undefined, connectionWindow: undefined, received: 0 };
  server.on('stream', (stream) => {
    view.streamWindow ??= stream.session?.remoteSettings.initialWindowSize;
    view.connectionWindow ??= stream.session?.state.remoteWindowSize;
    stream.on('data', (chunk: Buffer) => (view.received += chunk.length));
    stream.on('end', () => {
      stream.respond({ ':status': 200 });
      stream.end(Buffer.alloc(BODY_BYTES, 0x62));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, port: (server.address() as { port: number }).port, view };
}

/** Connects and waits for the sidecar's SETTINGS and connection WINDOW_UPDATE (a PING round trip after them). */
async function connected(target: string): Promise<ClientHttp2Session> {
  const session = connect(`http://${target}`);
  await new Promise<void>((resolve, reject) => {
    session.once('error', reject);
    session.once('remoteSettings', () => session.ping((error) => (error ? reject(error) : resolve())));
  });
  return session;
}

/** POSTs `BODY_BYTES` bytes and counts the response body. */
function upload(session: ClientHttp2Session): Promise<{ status: number; received: number }> {
  return new Promise((resolve, reject) => {
    const stream = session.request({ ':method': 'POST', ':path': '/upload', ':authority': 'big.svc' });
    let status = 0;
    let received = 0;
    stream.on('response', (headers) => (status = Number(headers[':status'])));
    stream.on('data', (chunk: Buffer) => (received += chunk.length));
    stream.on('end', () => resolve({ status, received }));
    stream.on('error', reject);
    stream.end(Buffer.alloc(BODY_BYTES, 0x61));
  });
}

async function checkWindows(settings: Settings | undefined, streamWindow: number): Promise<void> {
  const upstream = await startUpstream();
  let sidecar: Sidecar | undefined;
  let session: ClientHttp2Session | undefined;
  try {
    sidecar = await startSidecar({ config: oneClusterBootstrap('big', upstream.port, true), listen: '127.0.0.1:0', admin: false, ...(settings === undefined ? {} : { http2Settings: settings }) });
    session = await connected(sidecar.target);
    assert.equal(session.remoteSettings.initialWindowSize, streamWindow);
    assert.equal(session.state.remoteWindowSize, CONNECTION_WINDOW);
    const result = await upload(session);
    assert.deepEqual(result, { status: 200, received: BODY_BYTES });
    assert.deepEqual(upstream.view, { streamWindow, connectionWindow: CONNECTION_WINDOW, received: BODY_BYTES });
  } finally {
    session?.close();
    await sidecar?.close();
    await new Promise<void>((resolve) => upstream.server.close(() => resolve()));
  }
}

describe('sidecar flow-control windows', () => {
  test('clients and upstreams get a 1 MiB stream window and a 16 MiB connection window; a 3 MiB body goes both ways', async () => {
    await checkWindows(undefined, DEFAULT_STREAM_WINDOW);
  });

  test('an explicit initialWindowSize wins', async () => {
    await checkWindows({ initialWindowSize: 200_000 }, 200_000);
  });
});
