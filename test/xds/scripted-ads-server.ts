/**
 * A scripted ADS management server for client tests: it answers nothing by itself; the test reads
 * each request the client sent and writes the exact responses it wants (resources as proto3 JSON).
 */
import * as grpc from '@grpc/grpc-js';
import { encodeResource, type EnvoyProtos } from '@xmesh/xds';
import { adsWire, type DiscoveryRequest, type DiscoveryResponse } from '@xmesh/discovery';

export class ScriptedAdsServer {
  private readonly server = new grpc.Server();
  private readonly requests: DiscoveryRequest[] = [];
  private waiter: (() => void) | undefined;
  private call: grpc.ServerDuplexStream<DiscoveryRequest, DiscoveryResponse> | undefined;
  streams = 0;
  port = 0;

  constructor(private readonly protos: EnvoyProtos) {
    const wire = adsWire(protos);
    this.server.addService(wire as unknown as grpc.ServiceDefinition, {
      StreamAggregatedResources: (call: grpc.ServerDuplexStream<DiscoveryRequest, DiscoveryResponse>) => {
        this.streams++;
        this.call = call;
        call.on('data', (req: DiscoveryRequest) => {
          this.requests.push(req);
          this.waiter?.();
        });
        call.on('error', () => {});
      },
      DeltaAggregatedResources: (call: grpc.ServerDuplexStream<unknown, unknown>) => call.end(),
    });
  }

  async listen(): Promise<string> {
    this.port = await new Promise<number>((resolve, reject) =>
      this.server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (e, p) => (e ? reject(e) : resolve(p))));
    return `127.0.0.1:${this.port}`;
  }

  /** The next request the client sent; rejects after `ms`. */
  async nextRequest(ms = 2000): Promise<DiscoveryRequest> {
    const deadline = Date.now() + ms;
    while (this.requests.length === 0) {
      if (Date.now() > deadline) throw new Error(`no request within ${ms} ms`);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, 50);
        this.waiter = () => {
          clearTimeout(t);
          resolve();
        };
      });
    }
    return this.requests.shift()!;
  }

  /** True when the client sends nothing within `ms`. */
  async quiet(ms = 200): Promise<boolean> {
    try {
      await this.nextRequest(ms);
      return false;
    } catch {
      return true;
    }
  }

  /** Forgets requests not yet read (from a previous client). */
  drain(): void {
    this.requests.length = 0;
  }

  respond(typeUrl: string, version: string, nonce: string, resources: readonly unknown[]): void {
    this.call!.write({ type_url: typeUrl, version_info: version, nonce, resources: resources.map((r) => encodeResource(this.protos, r)) });
  }

  close(): void {
    this.server.forceShutdown();
  }
}
