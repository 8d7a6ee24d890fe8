/**
 * xmesh settings without an Envoy field, read from a cluster's `metadata.filter_metadata.xmesh`. Envoy ignores
 * that object, so the same cluster still works unchanged behind a real Envoy:
 *
 * ```yaml
 * metadata:
 *   filter_metadata:
 *     xmesh:
 *       lb_policy: PEAK_EWMA        # with Envoy lb_policy ROUND_ROBIN or LEAST_REQUEST, Envoy's own fallback
 *       ewma_decay: 10s
 *       transport: lean             # or grpc-js
 *       mode: sidecar               # the mode switch: this cluster's calls go to the sidecar (or `embedded`)
 *       fail_fast: { error_threshold_percentage: 50, volume_threshold: 20, rolling_window: 10s,
 *                    rolling_buckets: 10, reset_timeout: 5s }
 *       registry: { etcd_cluster: etcd, prefix: /xmesh/services/ }   # EDS clusters: endpoints from etcd
 *       zookeeper:                  # EDS clusters only: endpoints are the SOFARPC providers in ZooKeeper
 *         servers: 127.0.0.1:2181
 *         interface: com.example.HelloService
 *         version: "1.0"            # optional filters, as the stock client applies them
 *         group: SOFA
 *         root: /sofa-rpc           # default
 *         session_timeout: 30s      # default
 * ```
 */
import type { ClusterExtensions, FailFastConfig, ZooKeeperRegistryConfig } from '../model.js';
import { deepFreeze } from '../freeze.js';
import { describe, type Reader } from './reader.js';

export const DEFAULT_EXTENSIONS: ClusterExtensions = deepFreeze({
  transport: undefined,
  failFast: undefined,
  ewmaDecayMs: 10_000,
});

export const DEFAULT_FAIL_FAST: FailFastConfig = {
  errorThresholdPercentage: 50,
  volumeThreshold: 20,
  rollingWindowMs: 10_000,
  rollingBuckets: 10,
  resetTimeoutMs: 5_000,
};

export const DEFAULT_REGISTRY_PREFIX = '/xmesh/services/';

/** `registry`: the cluster's endpoints come from etcd, whose members `etcdCluster` lists (resolved by the snapshot). */
export interface RegistryMarker {
  readonly etcdCluster: string;
  readonly prefix: string;
}

export interface DecodedExtensions {
  readonly extensions: ClusterExtensions;
  /** True when `lb_policy: PEAK_EWMA` was asked for (the caller checks it against Envoy's lb_policy). */
  readonly peakEwma: boolean;
  readonly registry?: RegistryMarker;
}

/** Decodes the `xmesh` metadata object; an absent one gives the defaults. Unknown keys are errors. */
export function decodeClusterExtensions(r: Reader | undefined): DecodedExtensions {
  if (!r) return { extensions: DEFAULT_EXTENSIONS, peakEwma: false };
  const lbPolicy = r.get('lb_policy');
  if (lbPolicy !== undefined && lbPolicy !== 'PEAK_EWMA') r.error('lb_policy', `must be PEAK_EWMA, got ${describe(lbPolicy)}`);
  const transportName = r.has('transport') ? r.enumOf('transport', ['grpc-js', 'lean'] as const, 'grpc-js') : undefined;
  const mode = r.has('mode') ? r.enumOf('mode', ['embedded', 'sidecar'] as const, 'embedded') : undefined;
  const registry = decodeRegistry(r.obj('registry'));
  const zookeeper = decodeZooKeeper(r.obj('zookeeper'));
  const extensions: ClusterExtensions = {
    transport: transportName,
    failFast: decodeFailFast(r.obj('fail_fast')),
    ewmaDecayMs: r.positiveDuration('ewma_decay') ?? DEFAULT_EXTENSIONS.ewmaDecayMs,
    ...(mode === undefined ? {} : { mode }),
    ...(zookeeper === undefined ? {} : { zookeeper }),
  };

  r.finish('xmesh setting');
  return { extensions, peakEwma: lbPolicy === 'PEAK_EWMA', ...(registry === undefined ? {} : { registry }) };
}

function decodeRegistry(r: Reader | undefined): RegistryMarker | undefined {
  if (!r) return undefined;
  const etcdCluster = r.requiredStr('etcd_cluster');
  const prefix = r.str('prefix') ?? DEFAULT_REGISTRY_PREFIX;
  if (!prefix.startsWith('/') || !prefix.endsWith('/')) r.error('prefix', `must start and end with "/", got ${describe(prefix)}`);
  r.finish('registry setting');
  return { etcdCluster, prefix };
}

function decodeZooKeeper(r: Reader | undefined): ZooKeeperRegistryConfig | undefined {
  if (!r) return undefined;
  const servers = r.requiredStr('servers');
  const iface = r.requiredStr('interface');
  const root = r.str('root') ?? '/sofa-rpc';
  if (!root.startsWith('/')) r.error('root', `must start with "/", got ${describe(root)}`);
  const version = r.str('version');
  const group = r.str('group');
  const config: ZooKeeperRegistryConfig = {
    servers,
    root: root.length > 1 && root.endsWith('/') ? root.slice(0, -1) : root,
    interface: iface,
    ...(version === undefined ? {} : { version }),
    ...(group === undefined ? {} : { group }),
    sessionTimeoutMs: r.positiveDuration('session_timeout') ?? 30_000,
  };
  r.finish('zookeeper setting');
  return config;
}

function decodeFailFast(r: Reader | undefined): FailFastConfig | undefined {
  if (!r) return undefined;
  const d = DEFAULT_FAIL_FAST;
  const config: FailFastConfig = {
    errorThresholdPercentage: r.num('error_threshold_percentage', d.errorThresholdPercentage, 0, 100),
    volumeThreshold: r.uint32('volume_threshold', d.volumeThreshold),
    rollingWindowMs: r.positiveDuration('rolling_window') ?? d.rollingWindowMs,
    rollingBuckets: r.int('rolling_buckets', d.rollingBuckets, 1),
    resetTimeoutMs: r.positiveDuration('reset_timeout') ?? d.resetTimeoutMs,
  };
  if (config.rollingWindowMs % config.rollingBuckets !== 0) {
    r.error(
      'rolling_buckets',
      `must divide rolling_window evenly (${config.rollingWindowMs} ms / ${config.rollingBuckets} buckets is not a whole number of ms)`,
    );
  }
  r.finish('fail_fast setting');
  return config;
}
