/**
 * One ADS stream (a grpc-js bidi call), state of the world or delta: builds the requests the protocol
 * wants — `node` on the first request only, per-type nonce and version, subscription diffs for delta,
 * `initial_resource_versions` on a new delta stream — and turns responses into one uniform update.
 */
import type * as grpc from '@grpc/grpc-js';
import { TypeUrl, type EnvoyProtos } from '@xmesh/xds';
import type { ResolvedBootstrap } from './bootstrap.js';
import { WATCH_ORDER, type HeldResource } from './watch-state.js';
import {
  adsWire, toStruct,
  type DeltaDiscoveryRequest, type DeltaDiscoveryResponse, type DiscoveryRequest, type DiscoveryResponse, type WireAny, type WireNode,
} from './wire.js';

/** google.rpc.Code INVALID_ARGUMENT, the code gRPC clients NACK with. */
const INVALID_ARGUMENT = 3;

export interface ResponseUpdate {
  readonly typeUrl: string;
  readonly nonce: string;
  /** SotW `version_info`, or delta `system_version_info`. */
  readonly version: string;
  /** True for SotW LDS/CDS: resources absent from the response are deleted. */
  readonly stateOfTheWorld: boolean;
  readonly resources: readonly { readonly any: WireAny; readonly version?: string }[];
  /** Delta `removed_resources`. */
  readonly removed: readonly string[];
}

export interface AdsStreamHandlers {
  onResponse(update: ResponseUpdate): void;
  onFirstResponse(): void;
  /** The first response on this stream for a type that is not an xDS resource type xmesh asks for: ignored. */
  onIgnored(typeUrl: string): void;
  /** The stream ended (error text, or 'stream ended'); called once. */
  onEnd(error: string): void;
}

/** The types this client subscribes to (Secrets included): a response of any other type is ignored. */
const RESOURCE_TYPES: ReadonlySet<string> = new Set(WATCH_ORDER);

interface TypeSubscription {
  readonly names: Set<string>;
  wildcard: boolean;
}

export function wireNode(bootstrap: ResolvedBootstrap): WireNode {
  const { id, cluster, locality, metadata } = bootstrap.node;
  return {
    id,
    ...(cluster === undefined ? {} : { cluster }),
    ...(locality === undefined ? {} : { locality }),
    ...(metadata === undefined ? {} : { metadata: toStruct(metadata) }),
    user_agent_name: 'xmesh',
  };
}

export class AdsStream {
  readonly delta: boolean;
  private readonly call: grpc.ClientDuplexStream<DiscoveryRequest | DeltaDiscoveryRequest, DiscoveryResponse | DeltaDiscoveryResponse>;
  private readonly subscriptions = new Map<string, TypeSubscription>();
  private readonly nonces = new Map<string, string>();
  private node: WireNode | undefined;
  private gotResponse = false;
  private ignoredType = false;
  private ended = false;

  constructor(client: grpc.Client, protos: EnvoyProtos, bootstrap: ResolvedBootstrap, private readonly handlers: AdsStreamHandlers) {
    this.delta = bootstrap.delta;
    this.node = wireNode(bootstrap);
    const wire = adsWire(protos);
    const method = this.delta ? wire.DeltaAggregatedResources : wire.StreamAggregatedResources;
    this.call = client.makeBidiStreamRequest(
      method.path,
      method.requestSerialize as (v: DiscoveryRequest | DeltaDiscoveryRequest) => Buffer,
      method.responseDeserialize as (b: Buffer) => DiscoveryResponse | DeltaDiscoveryResponse,
    );
    // Nothing the server sends may throw out of this handler: a response that cannot be handled ends
    // the stream, and the client reconnects with back-off, keeping its last good config.
    this.call.on('data', (res: DiscoveryResponse | DeltaDiscoveryResponse) => {
      try {
        this.onData(res);
      } catch (error) {
        this.end(`a response could not be handled: ${error instanceof Error ? error.message : String(error)}`);
        this.call.cancel();
      }
    });
    this.call.on('error', (err: unknown) => this.end(describeCallError(err)));
    this.call.on('end', () => this.end('stream ended by the server'));
  }

  /**
   * Brings the type's subscription to `names` (or wildcard), sending a request if it changed.
   * Returns the names newly subscribed on this stream.
   */
  subscribe(typeUrl: string, names: ReadonlySet<string>, wildcard: boolean, version: string, held: ReadonlyMap<string, HeldResource>): string[] {
    const prev = this.subscriptions.get(typeUrl);
    if (!prev && names.size === 0 && !wildcard) return [];
    const added = [...names].filter((n) => !prev?.names.has(n));
    const removed = prev ? [...prev.names].filter((n) => !names.has(n)) : [];
    if (prev && added.length === 0 && removed.length === 0 && prev.wildcard === wildcard) return [];
    if (this.delta) {
      const req: DeltaDiscoveryRequest = {
        type_url: typeUrl,
        resource_names_subscribe: wildcard && !prev?.wildcard ? ['*', ...added] : added,
        resource_names_unsubscribe: !wildcard && prev?.wildcard ? ['*', ...removed] : removed,
        ...(prev ? {} : { initial_resource_versions: initialVersions(held) }),
        response_nonce: this.nonces.get(typeUrl) ?? '',
      };
      this.send(req);
    } else {
      this.send({
        type_url: typeUrl,
        version_info: version,
        resource_names: wildcard ? [] : [...names],
        response_nonce: this.nonces.get(typeUrl) ?? '',
      });
    }
    this.subscriptions.set(typeUrl, { names: new Set(names), wildcard });
    return added;
  }

  ack(typeUrl: string, nonce: string, version: string): void {
    if (this.delta) this.send({ type_url: typeUrl, response_nonce: nonce });
    else this.send({ type_url: typeUrl, version_info: version, resource_names: this.sotwNames(typeUrl), response_nonce: nonce });
  }

  /** `version`: the last version accepted for the type (SotW), kept in force. */
  nack(typeUrl: string, nonce: string, version: string, message: string): void {
    const error_detail = { code: INVALID_ARGUMENT, message };
    if (this.delta) this.send({ type_url: typeUrl, response_nonce: nonce, error_detail });
    else this.send({ type_url: typeUrl, version_info: version, resource_names: this.sotwNames(typeUrl), response_nonce: nonce, error_detail });
  }

  cancel(): void {
    this.ended = true;
    this.call.cancel();
  }

  private sotwNames(typeUrl: string): string[] {
    const sub = this.subscriptions.get(typeUrl);
    return !sub || sub.wildcard ? [] : [...sub.names];
  }

  private send(req: DiscoveryRequest | DeltaDiscoveryRequest): void {
    if (this.ended) return;
    const withNode = this.node ? { ...req, node: this.node } : req;
    this.node = undefined;
    this.call.write(withNode);
  }

  private onData(res: DiscoveryResponse | DeltaDiscoveryResponse): void {
    if (this.ended) return;
    if (!this.gotResponse) {
      this.gotResponse = true;
      this.handlers.onFirstResponse();
    }
    const typeUrl = res.type_url ?? '';
    const nonce = res.nonce ?? '';
    if (!RESOURCE_TYPES.has(typeUrl)) {
      // Neither ACKed nor NACKed (it was never asked for), and no state kept for it.
      if (!this.ignoredType) this.handlers.onIgnored(typeUrl);
      this.ignoredType = true;
      return;
    }
    this.nonces.set(typeUrl, nonce);
    if (this.delta) {
      const d = res as DeltaDiscoveryResponse;
      this.handlers.onResponse({
        typeUrl, nonce, version: d.system_version_info ?? '', stateOfTheWorld: false,
        resources: (d.resources ?? []).filter((r) => r.resource).map((r) => ({ any: r.resource!, ...(r.version ? { version: r.version } : {}) })),
        removed: d.removed_resources ?? [],
      });
    } else {
      const s = res as DiscoveryResponse;
      this.handlers.onResponse({
        typeUrl, nonce, version: s.version_info ?? '',
        stateOfTheWorld: typeUrl === TypeUrl.Listener || typeUrl === TypeUrl.Cluster,
        resources: (s.resources ?? []).map((any) => ({ any })),
        removed: [],
      });
    }
  }

  private end(error: string): void {
    if (this.ended) return;
    this.ended = true;
    this.handlers.onEnd(error);
  }
}

/** A call error as text: grpc-js's `code NAME: details` when it carries a valid status, else what there is. */
function describeCallError(err: unknown): string {
  const e = (typeof err === 'object' && err !== null ? err : {}) as { code?: unknown; details?: unknown; message?: unknown };
  const valid = typeof e.code === 'number' && Number.isInteger(e.code) && e.code >= 0 && e.code <= 16;
  if (valid && typeof e.message === 'string') return e.message;
  const details = typeof e.details === 'string' && e.details !== '' ? `: ${e.details}` : '';
  return `the stream failed without a valid gRPC status${details}`;
}

function initialVersions(held: ReadonlyMap<string, HeldResource>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, r] of held) out[name] = r.version;
  return out;
}
