/**
 * A raw ADS stream for tests: writes requests and awaits responses one by one, so a test asserts
 * the exact protocol exchange on the wire.
 */
import * as grpc from '@grpc/grpc-js';
import type { EnvoyProtos } from '@xmesh/xds';
import { adsWire, type DeltaDiscoveryRequest, type DeltaDiscoveryResponse, type DiscoveryRequest, type DiscoveryResponse } from '@xmesh/discovery';

export class RawAdsStream<Req, Res> {
  private readonly queue: Res[] = [];
  private waiter: ((res: Res) => void) | undefined;
  private readonly client: grpc.Client;
  readonly call: grpc.ClientDuplexStream<Req, Res>;

  constructor(target: string, method: { path: string; requestSerialize: (r: Req) => Buffer; responseDeserialize: (b: Buffer) => Res }) {
    this.client = new grpc.Client(target, grpc.credentials.createInsecure(), { 'grpc.use_local_subchannel_pool': 1 });
    this.call = this.client.makeBidiStreamRequest(method.path, method.requestSerialize, method.responseDeserialize);
    this.call.on('data', (res: Res) => {
      if (this.waiter) {
        const w = this.waiter;
        this.waiter = undefined;
        w(res);
      } else this.queue.push(res);
    });
    this.call.on('error', () => {});
  }

  send(req: Req): void {
    this.call.write(req);
  }

  /** The next response; rejects after `ms`. */
  next(ms = 2000): Promise<Res> {
    const queued = this.queue.shift();
    if (queued) return Promise.resolve(queued);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiter = undefined;
        reject(new Error(`no response within ${ms} ms`));
      }, ms);
      this.waiter = (res) => {
        clearTimeout(timer);
        resolve(res);
      };
    });
  }

  /** Resolves true if no response arrives within `ms`. */
  async quiet(ms = 300): Promise<boolean> {
    try {
      await this.next(ms);
      return false;
    } catch {
      return true;
    }
  }

  close(): void {
    this.call.cancel();
    this.client.close();
  }
}

export function sotwStream(protos: EnvoyProtos, target: string): RawAdsStream<DiscoveryRequest, DiscoveryResponse> {
  return new RawAdsStream(target, adsWire(protos).StreamAggregatedResources);
}

export function deltaStream(protos: EnvoyProtos, target: string): RawAdsStream<DeltaDiscoveryRequest, DeltaDiscoveryResponse> {
  return new RawAdsStream(target, adsWire(protos).DeltaAggregatedResources);
}
