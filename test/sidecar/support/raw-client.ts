/** Hostile-client moves shared by the sidecar's tests. */
import { connect as connectH2, constants, type ClientHttp2Stream } from 'node:http2';
import { connect as connectTcp } from 'node:net';

/**
 * Sends `bytes` on a raw connection; resolves with everything received once the server closed it,
 * or `undefined` if it is still open after `ms` (then it is destroyed).
 */
export function rawExchange(port: number, bytes: string | Buffer, ms: number): Promise<string | undefined> {
  return new Promise((resolve) => {
    let received = '';
    const socket = connectTcp(port, '127.0.0.1', () => socket.write(bytes));
    socket.setEncoding('latin1');
    socket.on('data', (chunk: string) => (received += chunk));
    socket.on('error', () => undefined);
    const timer = setTimeout(() => {
      socket.destroy();
      resolve(undefined);
    }, ms);
    socket.on('close', () => {
      clearTimeout(timer);
      resolve(received);
    });
  });
}

/**
 * The rapid-reset pattern (CVE-2023-44487): opens a stream and resets it at once, `total` times,
 * reconnecting whenever the server closes the connection (at most `maxConnections` times).
 * Resolves with the streams opened and the connections it took.
 */
export async function rapidReset(target: string, path: string, total: number, maxConnections: number): Promise<{ opened: number; connections: number }> {
  let opened = 0;
  let connections = 0;
  while (opened < total && connections < maxConnections) {
    connections++;
    const session = connectH2(`http://${target}`);
    session.on('error', () => undefined);
    await new Promise<void>((resolve) => {
      session.once('connect', () => resolve());
      session.once('close', () => resolve());
    });
    while (opened < total && !session.closed && !session.destroyed) {
      let stream: ClientHttp2Stream;
      try {
        stream = session.request({ ':method': 'POST', ':path': path, 'content-type': 'application/grpc', te: 'trailers' });
      } catch {
        break;
      }
      stream.on('error', () => undefined);
      stream.close(constants.NGHTTP2_CANCEL);
      opened++;
      if (opened % 50 === 0) await new Promise((r) => setImmediate(r));
    }
    session.destroy();
  }
  return { opened, connections };
}
