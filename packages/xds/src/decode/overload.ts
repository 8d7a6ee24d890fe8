/**
 * The bootstrap's downstream connection limit, as Envoy sets it:
 * - `overload_manager.resource_monitors[]` with `envoy.resource_monitors.global_downstream_max_connections`
 *   (`DownstreamConnectionsConfig.max_active_downstream_connections`): connections beyond it are
 *   closed at accept;
 * - else the deprecated runtime key `overload.global_downstream_max_connections` in a static layer of
 *   `layered_runtime` (Envoy's own example configs set it there).
 * Other resource monitors only feed overload actions; actions and load-shed points would stop
 * accepting connections or requests and are not implemented, so they are refused with their path,
 * and the monitors they would read are then inert (ignored). `refresh_interval` and
 * `buffer_factory_config` only tune monitors and actions: ignored.
 */
import type { OverloadConfig } from '../model.js';
import { describe, type Reader } from './reader.js';

const DOWNSTREAM_CONNECTIONS_MONITOR = 'envoy.resource_monitors.global_downstream_max_connections';
const DOWNSTREAM_CONNECTIONS_TYPE = 'envoy.extensions.resource_monitors.downstream_connections.v3.DownstreamConnectionsConfig';
const RUNTIME_KEY = 'overload.global_downstream_max_connections';

/** `overload_manager` and `layered_runtime` of a bootstrap; undefined when neither sets a connection limit. */
export function decodeOverload(overloadManager: Reader | undefined, layeredRuntime: Reader | undefined): OverloadConfig | undefined {
  const fromMonitor = overloadManager === undefined ? undefined : readOverloadManager(overloadManager);
  const fromRuntime = layeredRuntime === undefined ? undefined : readRuntimeLimit(layeredRuntime);
  const maxDownstreamConnections = fromMonitor ?? fromRuntime;
  return maxDownstreamConnections === undefined ? undefined : { maxDownstreamConnections };
}

function readOverloadManager(r: Reader): number | undefined {
  let limit: number | undefined;
  for (const monitor of r.objects('resource_monitors')) {
    const name = monitor.str('name') ?? '';
    const typed = monitor.obj('typed_config');
    const type = typed?.str('@type') ?? '';
    if (name === DOWNSTREAM_CONNECTIONS_MONITOR || type.endsWith(`/${DOWNSTREAM_CONNECTIONS_TYPE}`)) {
      if (!typed) {
        monitor.error('typed_config', `is required: ${DOWNSTREAM_CONNECTIONS_TYPE} with max_active_downstream_connections`);
      } else {
        const max = typed.int('max_active_downstream_connections', 0, 1, Number.MAX_SAFE_INTEGER, 'a positive int64');
        if (!typed.has('max_active_downstream_connections')) typed.error('max_active_downstream_connections', 'is required');
        typed.finish();
        limit = max;
      }
    } else if (typed) {
      // Feeds overload actions only, which are refused below: nothing reads it.
      monitor.issues.ignored.push(typed.path);
      typed.ignore(...Object.keys(typed.raw));
      typed.finish();
    }
    monitor.finish();
  }
  for (const key of ['actions', 'loadshed_points'] as const) {
    const items = r.list(key);
    if (items.length > 0) {
      r.error(key, `is not supported: overload ${key === 'actions' ? 'actions' : 'load-shed points'} (stop accepting requests or connections, shrink timeouts, reset streams) are not implemented; the sidecar's connection limit comes from the ${DOWNSTREAM_CONNECTIONS_MONITOR} resource monitor`);
    }
  }
  r.ignore('refresh_interval', 'buffer_factory_config');
  r.finish();
  return limit;
}

/** `overload.global_downstream_max_connections` in a static layer (nested or as one dotted key); the last layer that sets it wins. */
function readRuntimeLimit(r: Reader): number | undefined {
  let limit: number | undefined;
  for (const layer of r.objects('layers')) {
    const values = layer.raw['static_layer'];
    if (typeof values !== 'object' || values === null) continue;
    const record = values as Record<string, unknown>;
    const nested = record['overload'];
    const value = record[RUNTIME_KEY] ?? (typeof nested === 'object' && nested !== null ? (nested as Record<string, unknown>)['global_downstream_max_connections'] : undefined);
    if (value === undefined) continue;
    const n = typeof value === 'string' && /^\d+$/.test(value) ? Number(value) : value;
    if (typeof n === 'number' && Number.isSafeInteger(n) && n > 0) limit = n;
    else r.issues.error(`${layer.path}.static_layer.${RUNTIME_KEY}`, `must be a positive integer, got ${describe(value)}`);
  }
  return limit;
}
