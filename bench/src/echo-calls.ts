/**
 * The benchmarked Echo calls as promises, for any stock grpc-js generated client (direct, through
 * a proxy, or built by `mesh.grpcClient`).
 */
import type { EchoClient } from '@xmesh/example-quickstart';
import type { Call } from './load.js';
import type { Workload } from './workload.js';

/** The call of a workload, or undefined when the scenario has no such call wired (not applicable). */
export type CallFactory = (workload: Workload) => Call | undefined;

/** A unary `Echo` call carrying `payload`. */
export function echoUnaryCall(client: EchoClient, payload: Buffer): Call {
  const request = { message: 'bench', payload };
  return () =>
    new Promise<void>((resolve, reject) => {
      client.echo(request, (err) => (err === null ? resolve() : reject(err)));
    });
}

/**
 * A `ServerStream` call asking for `messages` replies echoing `payload`. Resolves when the stream
 * ends with status OK after exactly `messages` replies (latency runs to the last message and its
 * trailers); rejects on any other status or count.
 */
export function echoStreamCall(client: EchoClient, payload: Buffer, messages: number): Call {
  const request = { message: 'bench', payload, count: messages };
  return () =>
    new Promise<void>((resolve, reject) => {
      settleOnStatus(client.serverStream(request), 'ServerStream', messages, 'replies', resolve, reject);
    });
}

/**
 * A `Bidi` call that writes `messages` requests carrying `payload`, then half-closes, and resolves
 * when the stream ends with status OK after exactly `messages` echoes; rejects otherwise.
 */
export function echoBidiCall(client: EchoClient, payload: Buffer, messages: number): Call {
  const request = { message: 'bench', payload };
  return () =>
    new Promise<void>((resolve, reject) => {
      const stream = client.bidi();
      settleOnStatus(stream, 'Bidi', messages, 'echoes', resolve, reject);
      for (let i = 0; i < messages; i++) stream.write(request);
      stream.end();
    });
}

/** Counts a stream's replies and settles at its status: resolved when OK after exactly `messages` replies. */
function settleOnStatus(stream: NodeJS.EventEmitter, method: string, messages: number, what: string, resolve: () => void, reject: (error: Error) => void): void {
  let received = 0;
  stream.on('data', () => received++);
  stream.on('error', () => undefined); // the outcome is read from 'status'
  stream.on('status', (status: { code: number; details: string }) => {
    if (status.code !== 0) reject(new Error(`${method} ended with status ${status.code}: ${status.details}`));
    else if (received !== messages) reject(new Error(`${method}: ${received} of ${messages} ${what}`));
    else resolve();
  });
}

/** Calls of every workload on one stock client; payloads are allocated once per workload. */
export function stockEchoCalls(client: EchoClient): CallFactory {
  return (w) => {
    const payload = benchPayload(w.payloadBytes);
    if (w.kind === 'unary') return echoUnaryCall(client, payload);
    return w.kind === 'stream' ? echoStreamCall(client, payload, w.messages) : echoBidiCall(client, payload, w.messages);
  };
}

/** The request payload of `bytes` bytes (filled with 'a'). */
export function benchPayload(bytes: number): Buffer {
  return Buffer.alloc(bytes, 0x61);
}
