/**
 * Child-process entry of the `h2-proxy-floor` reference: the least a forwarding proxy on node:http2
 * does. An h2c server on a free loopback port forwards every stream — request headers and body,
 * response headers, body and trailers, resets both ways — on one h2c connection to the upstream
 * `127.0.0.1:<port>`. No routing, policies, stats or limits beyond node's own: it shows what any proxy
 * written on node:http2 pays per call, next to HAProxy and the xmesh sidecar; it is not one to deploy.
 * Reports the port it serves on as `{ port }` over IPC and answers `{ type: 'memory' }` as the
 * sidecar child does; exits when the parent disconnects.
 * Usage: node h2-proxy-child.js <upstream-port>
 */
import http2, { constants as h2 } from 'node:http2';
import type { AddressInfo } from 'node:net';

/** Request pseudo-headers and headers node:http2 refuses to forward (connection-specific). */
const NOT_FORWARDED = new Set(['connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'upgrade', 'http2-settings']);

function forwardable(headers: http2.IncomingHttpHeaders): http2.OutgoingHttpHeaders {
  const out: http2.OutgoingHttpHeaders = {};
  for (const name in headers) if (!NOT_FORWARDED.has(name)) out[name] = headers[name];
  return out;
}

async function main(): Promise<void> {
  const port = Number(process.argv[2]);
  if (!Number.isInteger(port) || port < 1) throw new Error(`bad upstream port: ${process.argv[2]}`);
  let upstream: http2.ClientHttp2Session | undefined;
  const session = (): http2.ClientHttp2Session => {
    if (upstream === undefined || upstream.closed || upstream.destroyed) {
      const opened = http2.connect(`http://127.0.0.1:${port}`);
      opened.on('error', () => undefined);
      opened.on('close', () => {
        if (upstream === opened) upstream = undefined;
      });
      upstream = opened;
    }
    return upstream;
  };

  const server = http2.createServer();
  server.on('sessionError', () => undefined);
  server.on('stream', (downstream, headers) => {
    downstream.on('error', () => undefined);
    let out: http2.ClientHttp2Stream;
    try {
      out = session().request(forwardable(headers), { endStream: false });
    } catch {
      downstream.close(h2.NGHTTP2_REFUSED_STREAM);
      return;
    }
    out.on('error', () => undefined);
    let trailers: http2.OutgoingHttpHeaders = {};
    let responded = false;
    out.on('response', (response, flags) => {
      if (downstream.closed) return;
      responded = true;
      if ((flags & h2.NGHTTP2_FLAG_END_STREAM) !== 0) {
        downstream.respond(forwardable(response), { endStream: true });
        return;
      }
      downstream.respond(forwardable(response), { waitForTrailers: true });
      out.pipe(downstream);
    });
    out.on('trailers', (received) => {
      trailers = forwardable(received);
    });
    downstream.on('wantTrailers', () => downstream.sendTrailers(trailers));
    downstream.pipe(out);
    // A reset on either side resets the other; an upstream stream that ended without a response is an error.
    downstream.on('close', () => {
      if (!out.closed) out.close(downstream.rstCode || h2.NGHTTP2_CANCEL);
    });
    out.on('close', () => {
      if (downstream.closed) return;
      const code = out.rstCode ?? h2.NGHTTP2_NO_ERROR;
      if (code !== h2.NGHTTP2_NO_ERROR) downstream.close(code);
      else if (!responded) downstream.close(h2.NGHTTP2_INTERNAL_ERROR);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  process.send?.({ port: (server.address() as AddressInfo).port });
  process.on('message', (message: { type?: string }) => {
    if (message?.type !== 'memory') return;
    (globalThis as { gc?: () => void }).gc?.();
    process.send?.({ type: 'memory', heapUsed: process.memoryUsage().heapUsed, rss: process.memoryUsage.rss(), handles: process.getActiveResourcesInfo().length });
  });
  const stop = () => {
    server.close();
    upstream?.close();
    setTimeout(() => process.exit(0), 2000).unref();
  };
  process.once('disconnect', stop);
  process.once('SIGTERM', stop);
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
