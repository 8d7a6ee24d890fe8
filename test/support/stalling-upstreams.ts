/**
 * Stock upstreams for hedging tests (`hedge_on_per_try_timeout`), whose answers depend on how many
 * requests of a behaviour they saw: node:http / node:http2 handlers and a grpc-js Echo server.
 * Behaviours (header or metadata `x-behaviour`): `stall-first-*` never answers the first request;
 * `stall-all-*` answers none; `late-first-*` answers the first 400 ms late and never the others;
 * anything else is answered at once. Answers name the request: `<behaviour>#<n>:<its body>`.
 */
import * as grpc from '@grpc/grpc-js';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Http2ServerRequest, Http2ServerResponse } from 'node:http2';
import { loadEcho, type EchoClient, type EchoReply, type EchoRequest } from './echo-server.js';

/** A request the upstream saw: whether it closed without an answer (the client aborted it). */
export interface SeenRequest { readonly abandoned: Promise<boolean> }

type Request = IncomingMessage | Http2ServerRequest;
type Response = ServerResponse | Http2ServerResponse;

/** A node:http / node:http2 request handler behaving by header `x-behaviour` (the first 400 ms late: after its body ended). */
export function behaviourHandler(seen: Map<string, SeenRequest[]>) {
  return (req: Request, res: Response) => {
    const behaviour = String(req.headers['x-behaviour'] ?? '');
    const count = (seen.get(behaviour)?.length ?? 0) + 1;
    const abandoned = new Promise<boolean>((resolve) => res.once('close', () => resolve(!res.writableEnded)));
    seen.set(behaviour, [...(seen.get(behaviour) ?? []), { abandoned }]);
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('error', () => {});
    req.on('end', () => {
      const answer = () => {
        if (res.destroyed) return;
        res.writeHead(200, { 'content-type': 'text/plain' });
        res.end(`${behaviour}#${count}:${Buffer.concat(chunks).toString()}`);
      };
      if (behaviour.startsWith('late-first-') && count === 1) {
        const timer = setTimeout(answer, 400);
        res.once('close', () => clearTimeout(timer));
        return;
      }
      if (!stalls(behaviour, count)) answer();
    });
  };
}

/** A server call the upstream saw: which one of its behaviour, and whether the client cancelled it. */
export interface SeenCall { readonly cancelled: Promise<boolean>; }

/** A stock grpc-js Echo server behaving by metadata `x-behaviour` (Echo, and ClientStream once the client half-closed). */
export async function startStallingGrpcServer() {
  const seen = new Map<string, SeenCall[]>();
  /** What the server saw, in order: `<behaviour>#<n> start` and `<behaviour>#<n> cancelled`. */
  const events: string[] = [];
  const server = new grpc.Server();
  const track = (call: grpc.ServerUnaryCall<EchoRequest, EchoReply> | grpc.ServerReadableStream<EchoRequest, EchoReply>) => {
    const behaviour = String(call.metadata.get('x-behaviour')[0] ?? '');
    const count = (seen.get(behaviour)?.length ?? 0) + 1;
    events.push(`${behaviour}#${count} start`);
    // True when the client cancelled the call (a call the server answered first is not).
    const cancelled = new Promise<boolean>((resolve) => {
      call.once('cancelled', () => {
        events.push(`${behaviour}#${count} cancelled`);
        resolve(true);
      });
      call.once('finish', () => resolve(false));
    });
    seen.set(behaviour, [...(seen.get(behaviour) ?? []), { cancelled }]);
    const stalled = stalls(behaviour, count);
    return { behaviour, count, stalled };
  };
  server.addService(loadEcho().service, {
    Echo: (call: grpc.ServerUnaryCall<EchoRequest, EchoReply>, callback: grpc.sendUnaryData<EchoReply>) => {
      const { behaviour, count, stalled } = track(call);
      const answer = () => callback(null, { message: `${behaviour}#${count}`, payload: Buffer.alloc(0), server: 'stalling' });
      if (behaviour.startsWith('late-first-') && count === 1) {
        const timer = setTimeout(answer, 400);
        call.once('cancelled', () => clearTimeout(timer));
        return;
      }
      if (!stalled) answer();
    },
    ServerStream: (call: grpc.ServerWritableStream<EchoRequest, EchoReply>) => call.end(),
    ClientStream: (call: grpc.ServerReadableStream<EchoRequest, EchoReply>, callback: grpc.sendUnaryData<EchoReply>) => {
      const { behaviour, count } = track(call);
      const parts: string[] = [];
      call.on('data', (req: EchoRequest) => parts.push(req.message ?? ''));
      call.on('end', () => callback(null, { message: `${behaviour}#${count}:${parts.join(',')}`, payload: Buffer.alloc(0), server: 'stalling' }));
    },
    Bidi: (call: grpc.ServerDuplexStream<EchoRequest, EchoReply>) => call.end(),
  });
  const port = await new Promise<number>((resolve, reject) => server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (e, p) => (e ? reject(e) : resolve(p))));
  return { address: `127.0.0.1:${port}`, seen, events, close: () => server.forceShutdown() };
}


/** True when request `count` of `behaviour` is never answered. */
function stalls(behaviour: string, count: number): boolean {
  return behaviour.startsWith('stall-all-') || (behaviour.startsWith('stall-first-') && count === 1) || (behaviour.startsWith('late-first-') && count > 1);
}

/** A unary Echo call with metadata `x-behaviour`: its end, a way to cancel it, and how many times its callback ran. */
export function echoWithBehaviour(client: EchoClient, behaviour: string, deadlineMs = 10_000) {
  const metadata = new grpc.Metadata();
  metadata.set('x-behaviour', behaviour);
  let ends = 0;
  let cancel = () => {};
  const done = new Promise<{ error: grpc.ServiceError | null; reply: EchoReply | undefined }>((resolve) => {
    const call = client.Echo({ message: 'x' }, metadata, { deadline: Date.now() + deadlineMs }, (error: grpc.ServiceError | null, reply?: EchoReply) => {
      ends++;
      resolve({ error, reply });
    });
    cancel = () => call.cancel();
  });
  return { done, cancel: () => cancel(), ends: () => ends };
}

/** Runs `act` once `seen` holds at least `count` requests of `behaviour` (polled every 10 ms). */
export function whenSeen(seen: ReadonlyMap<string, readonly unknown[]>, behaviour: string, count: number, act: () => void): void {
  const poll = setInterval(() => {
    if ((seen.get(behaviour)?.length ?? 0) < count) return;
    clearInterval(poll);
    act();
  }, 10);
}
