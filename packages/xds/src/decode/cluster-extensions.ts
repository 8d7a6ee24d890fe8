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
 *       registry:                   # EDS clusters: endpoints from a service registry, the service being
 *         etcd_cluster: etcd        # eds_cluster_config.service_name, else the cluster name; the registry's
 *         prefix: /xmesh/services/  # members are the endpoints of the STATIC / STRICT_DNS cluster named
 *       registry:                   # or the SOFARPC registry in ZooKeeper (the service is the interface)
 *         zookeeper_cluster: zk
 *         prefix: /sofa-rpc         # the registry's root (default)
 *         version: "1.0"            # optional provider filters, as the stock consumer applies them
 *         group: SOFA
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
/** The root `sofa-rpc-node` publishes providers under. */
export const DEFAULT_ZOOKEEPER_ROOT = '/sofa-rpc';
const DEFAULT_ZOOKEEPER_SESSION_TIMEOUT_MS = 30_000;

/**
 * `registry`: the cluster's endpoints come from a service registry — etcd or ZooKeeper — whose members
 * the cluster `cluster` lists (resolved by the snapshot).
 */
export interface RegistryMarker {
  readonly kind: 'etcd' | 'zookeeper';
  readonly cluster: string;
  /** etcd: the key prefix; ZooKeeper: the registry's root. */
  readonly prefix: string;
  readonly zookeeper?: ZooKeeperRegistryConfig;
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
  if (r.has('zookeeper')) {
    r.get('zookeeper');
    r.error('zookeeper', 'was replaced by registry: { zookeeper_cluster: <a STATIC cluster listing the ZooKeeper servers>, prefix, version, group, session_timeout } (the service is eds_cluster_config.service_name, else the cluster name)');
  }
  const extensions: ClusterExtensions = {
    transport: transportName,
    failFast: decodeFailFast(r.obj('fail_fast')),
    ewmaDecayMs: r.positiveDuration('ewma_decay') ?? DEFAULT_EXTENSIONS.ewmaDecayMs,
    ...(mode === undefined ? {} : { mode }),
  };

  r.finish('xmesh setting');
  return { extensions, peakEwma: lbPolicy === 'PEAK_EWMA', ...(registry === undefined ? {} : { registry }) };
}

function decodeRegistry(r: Reader | undefined): RegistryMarker | undefined {
  if (!r) return undefined;
  const kind = r.has('zookeeper_cluster') ? 'zookeeper' : 'etcd';
  if (r.has('zookeeper_cluster') === r.has('etcd_cluster')) r.error(r.has('etcd_cluster') ? 'zookeeper_cluster' : 'etcd_cluster', 'one of etcd_cluster, zookeeper_cluster is required (the cluster listing the registry\'s members)');
  const cluster = kind === 'etcd' ? r.requiredStr('etcd_cluster') : r.requiredStr('zookeeper_cluster');
  r.get('etcd_cluster');
  r.get('zookeeper_cluster');
  let prefix = r.str('prefix') ?? (kind === 'etcd' ? DEFAULT_REGISTRY_PREFIX : DEFAULT_ZOOKEEPER_ROOT);
  if (kind === 'etcd') {
    if (!prefix.startsWith('/') || !prefix.endsWith('/')) r.error('prefix', `must start and end with "/", got ${describe(prefix)}`);
  } else {
    if (!prefix.startsWith('/')) r.error('prefix', `must start with "/" (the registry's root), got ${describe(prefix)}`);
    if (prefix.length > 1 && prefix.endsWith('/')) prefix = prefix.slice(0, -1);
  }
  let zookeeper: ZooKeeperRegistryConfig | undefined;
  if (kind === 'zookeeper') {
    const version = r.str('version');
    const group = r.str('group');
    zookeeper = {
      ...(version === undefined ? {} : { version }),
      ...(group === undefined ? {} : { group }),
      sessionTimeoutMs: r.positiveDuration('session_timeout') ?? DEFAULT_ZOOKEEPER_SESSION_TIMEOUT_MS,
    };
  } else {
    for (const key of ['version', 'group', 'session_timeout']) if (r.has(key)) r.error(key, 'is a ZooKeeper (SOFARPC) registry setting: use it with zookeeper_cluster');
  }
  r.finish('registry setting');
  return { kind, cluster, prefix, ...(zookeeper === undefined ? {} : { zookeeper }) };
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
