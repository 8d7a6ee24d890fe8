/**
 * tcp_proxy's `tunneling_config`: a connection's bytes carried in an HTTP CONNECT request to the upstream (an HTTP
 * proxy, such as a sidecar terminating CONNECT), as Envoy's tcp_proxy sends it:
 *
 * - over HTTP/1.1, `CONNECT <hostname> HTTP/1.1` with `Host: <hostname>` and `headers_to_add`; any 2xx establishes
 *   the tunnel (its Content-Length / Transfer-Encoding ignored, RFC 9110 §9.3.6) and the bytes after the response
 *   head are the tunnel's; the head is bounded (`MAX_RESPONSE_HEAD`);
 * - over HTTP/2 (the cluster speaks it), a CONNECT stream with `:authority: <hostname>` and the headers; 200
 *   establishes it, and its DATA are the tunnel's bytes.
 *
 * With `use_post` the tunnel is a POST request to `post_path` instead, for proxies that carry a request body as raw
 * TCP (Envoy's `connect_config.allow_post`): over HTTP/1.1 a chunked request body, the response body (in whatever
 * framing it comes) the tunnel's bytes back, any 2xx establishing it, node's HTTP parser bounding the head; over
 * HTTP/2 a POST stream with `:scheme` and `:path`, 200 establishing it. The end of the client's bytes ends the request
 * body (the last chunk, or END_STREAM).
 *
 * Anything else — another status, a malformed or oversized head, the connection closing first — fails the
 * connection attempt: the upstream connection is destroyed, which the caller sees as its 'close'.
 */
import { connect as http2Connect, type ClientHttp2Stream } from 'node:http2';
import type { ClientRequest, IncomingMessage } from 'node:http';
import type { Socket } from 'node:net';
import { Duplex } from 'node:stream';
import type { TcpTunnelingConfig } from '@xmesh/xds';

// node:http through getBuiltinModule: an ESM import of it makes Node load its bundled undici (see listener.ts).
const { request: httpRequest } = process.getBuiltinModule('node:http');

/** The most response head bytes read before the tunnel is up (Envoy's default max_request_headers_kb is 60). */
export const MAX_RESPONSE_HEAD = 64 * 1024;

const HEAD_END = Buffer.from('\r\n\r\n');

function ignoreError(): void {}

/**
 * Asks the upstream on `socket` (connected, TLS done) for a tunnel; `established` gets the tunnel's byte stream
 * once it is up. On failure `socket` is destroyed.
 */
export function openTunnel(socket: Socket, config: TcpTunnelingConfig, http2: boolean, established: (tunnel: Duplex) => void): void {
  if (http2) openHttp2Tunnel(socket, config, established);
  else if (config.post !== undefined) openHttp1PostTunnel(socket, config, config.post.path, established);
  else openHttp1Tunnel(socket, config, established);
}

function openHttp1Tunnel(socket: Socket, config: TcpTunnelingConfig, established: (tunnel: Duplex) => void): void {
  let head = `CONNECT ${config.hostname} HTTP/1.1\r\nhost: ${config.hostname}\r\n`;
  for (const [name, value] of config.headers) head += `${name}: ${value}\r\n`;
  socket.write(`${head}\r\n`);
  let received: Buffer = Buffer.alloc(0);
  const onData = (chunk: Buffer): void => {
    received = received.length === 0 ? chunk : Buffer.concat([received, chunk]);
    const end = received.indexOf(HEAD_END);
    if (end < 0) {
      if (received.length > MAX_RESPONSE_HEAD) socket.destroy(new Error(`the upstream's answer to CONNECT has a head over ${MAX_RESPONSE_HEAD} bytes`));
      return;
    }
    socket.off('data', onData);
    socket.pause();
    const lineEnd = received.indexOf('\r\n');
    const statusLine = received.subarray(0, lineEnd).toString('latin1');
    const status = /^HTTP\/1\.[01] (\d{3})(?: |$)/.exec(statusLine)?.[1];
    if (status === undefined || status[0] !== '2') {
      socket.destroy(new Error(`the upstream refused the tunnel: ${JSON.stringify(statusLine.slice(0, 100))}`));
      return;
    }
    const rest = received.subarray(end + HEAD_END.length);
    if (rest.length > 0) socket.unshift(rest);
    established(socket);
  };
  socket.on('data', onData);
}

function openHttp2Tunnel(socket: Socket, config: TcpTunnelingConfig, established: (tunnel: Duplex) => void): void {
  const session = http2Connect(`http://${config.hostname}`, { createConnection: () => socket });
  session.on('error', ignoreError);
  // The session is this tunnel's alone: it ends with its stream, and the socket with it.
  session.once('close', () => socket.destroy());
  const post = config.post;
  const headers: Record<string, string> = post === undefined
    ? { ':method': 'CONNECT', ':authority': config.hostname }
    : { ':method': 'POST', ':scheme': 'encrypted' in socket ? 'https' : 'http', ':authority': config.hostname, ':path': post.path };
  for (const [name, value] of config.headers) headers[name] = value;
  let stream: ClientHttp2Stream;
  try {
    stream = session.request(headers, { endStream: false });
  } catch (error) {
    session.destroy();
    socket.destroy(error as Error);
    return;
  }
  stream.on('error', ignoreError);
  stream.once('close', () => session.destroy());
  stream.once('response', (response) => {
    if (response[':status'] !== 200) {
      socket.destroy(new Error(`the upstream refused the tunnel: ${String(response[':status'])}`));
      session.destroy();
      return;
    }
    established(stream);
  });
}

/** A POST tunnel over HTTP/1.1: node's HTTP client on `socket` frames the request body and parses the response. */
function openHttp1PostTunnel(socket: Socket, config: TcpTunnelingConfig, path: string, established: (tunnel: Duplex) => void): void {
  // A POST without a length: node sends its body chunked.
  const headers: string[] = ['host', config.hostname];
  for (const [name, value] of config.headers) headers.push(name, value);
  let request: ClientRequest;
  try {
    request = httpRequest({ createConnection: () => socket, method: 'POST', path, headers });
  } catch (error) {
    socket.destroy(error as Error);
    return;
  }
  request.on('error', (error) => socket.destroy(error));
  request.once('response', (response: IncomingMessage) => {
    const status = response.statusCode ?? 0;
    if (status < 200 || status > 299) {
      socket.destroy(new Error(`the upstream refused the tunnel: ${status}`));
      return;
    }
    response.on('error', ignoreError);
    // The tunnel: its writes are the request body, its reads the response body; destroying it closes the connection.
    const tunnel = Duplex.from({ readable: response, writable: request });
    tunnel.once('close', () => socket.destroy());
    established(tunnel);
  });
  request.flushHeaders();
}
