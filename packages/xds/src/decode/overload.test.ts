import { test } from 'node:test';
import assert from 'node:assert/strict';
import { buildSnapshot } from '../snapshot.js';

const MONITOR = {
  name: 'envoy.resource_monitors.global_downstream_max_connections',
  typed_config: { '@type': 'type.googleapis.com/envoy.extensions.resource_monitors.downstream_connections.v3.DownstreamConnectionsConfig', max_active_downstream_connections: 1000 },
};
const bootstrap = (extra: Record<string, unknown>) => ({ static_resources: { listeners: [], clusters: [] }, ...extra });

test('the downstream connection limit comes from the overload manager, else from the runtime key in a static layer', () => {
  const fromMonitor = buildSnapshot(bootstrap({ overload_manager: { refresh_interval: '1s', resource_monitors: [MONITOR] } }));
  assert.ok(fromMonitor.ok, JSON.stringify(!fromMonitor.ok && fromMonitor.errors));
  assert.deepEqual(fromMonitor.snapshot.overload, { maxDownstreamConnections: 1000 });
  // As Envoy's own example configs set it.
  const fromRuntime = buildSnapshot(bootstrap({ layered_runtime: { layers: [{ name: 'static_layer_0', static_layer: { overload: { global_downstream_max_connections: 50000 } } }] } }));
  assert.ok(fromRuntime.ok);
  assert.deepEqual(fromRuntime.snapshot.overload, { maxDownstreamConnections: 50000 });
  assert.ok(fromRuntime.snapshot.ignored.includes('layered_runtime'));
  const none = buildSnapshot(bootstrap({}));
  assert.ok(none.ok);
  assert.equal(none.snapshot.overload, undefined);
});

test('overload actions and load-shed points are refused with their path; monitors only they would read are ignored', () => {
  const built = buildSnapshot(bootstrap({
    overload_manager: {
      resource_monitors: [MONITOR, { name: 'envoy.resource_monitors.fixed_heap', typed_config: { '@type': 'type.googleapis.com/envoy.extensions.resource_monitors.fixed_heap.v3.FixedHeapConfig', max_heap_size_bytes: 1e9 } }],
      actions: [{ name: 'envoy.overload_actions.stop_accepting_requests', triggers: [{ name: 'envoy.resource_monitors.fixed_heap', threshold: { value: 0.95 } }] }],
      loadshed_points: [{ name: 'envoy.load_shed_points.tcp_listener_accept', triggers: [] }],
    },
  }));
  assert.equal(built.ok, false);
  assert.deepEqual(!built.ok && built.errors.map((e) => e.path), ['overload_manager.actions', 'overload_manager.loadshed_points']);
});

test('header_prefix other than x-envoy is refused: the x-envoy-* headers keep their names', () => {
  const built = buildSnapshot(bootstrap({ header_prefix: 'x-custom' }));
  assert.deepEqual(!built.ok && built.errors.map((e) => e.path), ['header_prefix']);
  assert.ok(buildSnapshot(bootstrap({ header_prefix: 'x-envoy' })).ok);
});
