/**
 * An ADS (state of the world) server on raw node:http2 for client robustness tests. Each new stream
 * takes the next scripted act, if any — garbage, impossible length prefixes, resets, GOAWAY, a cut
 * socket — and otherwise is served properly: every request for a type not yet answered on the stream
 * gets all of that type's resources.
 */
import http2 from 'node:http2';
import type { Socket } from 'node:net';
import { encodeResource, type EnvoyProtos } from '@xmesh/xds';
import { adsWire, type AdsWire, type DiscoveryRequest } from '@xmesh/discovery';
import { grpcFrame } from '../support/raw-grpc.js';

/** What a scripted stream does after its response headers went out. */
export type StreamAct = (stream: http2.ServerHttp2Stream, server: HostileAdsServer) => void;

export class HostileAdsServer {
  /** Acts for the next streams, in order; a stream with none left is served properly. */
  readonly acts: StreamAct[] = [];
  streams = 0;
  version = 'v1';
  private readonly wire: AdsWire;
  private readonly server = http2.createServer();
  private readonly sessions = new Set<http2.ServerHttp2Session>();
  /** The TCP socket of the newest connection, to cut it. */
  lastSocket: Socket | undefined;

  constructor(
    private readonly protos: EnvoyProtos,
    /** Resources to serve (proto3 JSON with `@type`). */
    public resources: readonly Record<string, unknown>[],
  ) {
    this.wire = adsWire(protos);
    this.server.on('connection', (socket: Socket) => {
      socket.on('error', () => undefined);
      this.lastSocket = socket;
    });
    this.server.on('session', (session) => {
      this.sessions.add(session);
      session.on('error', () => undefined);
      session.on('close', () => this.sessions.delete(session));
    });
    this.server.on('stream', (stream) => {
      this.streams++;
      stream.on('error', () => undefined);
      stream.respond({ ':status': 200, 'content-type': 'application/grpc' }, { waitForTrailers: true });
      stream.on('wantTrailers', () => stream.sendTrailers({ 'grpc-status': '0' }));
      const act = this.acts.shift();
      if (act) {
        stream.on('data', () => undefined);
        act(stream, this);
      } else this.serve(stream);
    });
  }

  async listen(): Promise<number> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    return (this.server.address() as { port: number }).port;
  }

  /** One response message for `typeUrl`, framed. */
  responseFrame(typeUrl: string, nonce: string): Buffer {
    const resources = this.resources.filter((r) => r['@type'] === typeUrl).map((r) => encodeResource(this.protos, r));
    return grpcFrame(this.wire.StreamAggregatedResources.responseSerialize({ version_info: this.version, type_url: typeUrl, nonce, resources }));
  }

  /** Ends every connection at once (as a restart would): clients open a new stream. */
  dropAll(): void {
    for (const session of this.sessions) session.destroy();
  }

  async close(): Promise<void> {
    for (const session of this.sessions) session.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  /** Serves `stream` properly from now on (an act may end by handing over). */
  serve(stream: http2.ServerHttp2Stream): void {
    const answered = new Set<string>();
    let pending = Buffer.alloc(0);
    stream.on('data', (chunk: Buffer) => {
      pending = Buffer.concat([pending, chunk]);
      while (pending.length >= 5) {
        const length = pending.readUInt32BE(1);
        if (pending.length < 5 + length) break;
        const request: DiscoveryRequest = this.wire.StreamAggregatedResources.requestDeserialize(pending.subarray(5, 5 + length));
        pending = pending.subarray(5 + length);
        const typeUrl = request.type_url ?? '';
        if (typeUrl === '' || answered.has(typeUrl)) continue;
        answered.add(typeUrl);
        stream.write(this.responseFrame(typeUrl, `${answered.size}`));
      }
    });
  }
}
