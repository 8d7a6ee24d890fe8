// Envoy's active health checking state machine on a fake clock, with scripted check results:
// thresholds, first-check rule, intervals (traffic, no traffic, edges, jitter), timeouts, warming,
// hosts added later, hosts pending removal, config changes.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Endpoint } from '@xmesh/core';
import type { HealthCheckConfig } from '@xmesh/xds';
import { FakeClock } from '../../../../test/support/fake-clock.js';
import { ActiveHealthChecker } from './active-health-checker.js';
import type { Probe, ProbeOutcome, ProbeTarget } from './probe.js';

const config: HealthCheckConfig = {
  timeoutMs: 1000, intervalMs: 2000, initialJitterMs: 0, intervalJitterMs: 0, intervalJitterPercent: 0, unhealthyThreshold: 2,
  healthyThreshold: 3, reuseConnection: true, noTrafficIntervalMs: 4000, noTrafficHealthyIntervalMs: 5000, unhealthyIntervalMs: 3000,
  unhealthyEdgeIntervalMs: 700, healthyEdgeIntervalMs: 600,
  checker: { kind: 'tcp', receive: [] },
  ignoreNewHostsUntilFirstHc: false, ignoreHealthOnHostRemoval: false, closeConnectionsOnHostHealthFailure: false,
};

function endpoint(port: number, extra: Partial<Endpoint> = {}): Endpoint {
  return {
    id: `10.0.0.1:${port}`, host: '10.0.0.1', port, weight: 1, healthStatus: 'UNKNOWN', priority: 0,
    locality: { region: '', zone: '', subZone: '' }, localityWeight: undefined, metadata: {}, ...extra,
  };
}

/** Probes whose results the test gives, host by host; each started check waits for its result. */
class ScriptedProbes {
  readonly started: { target: ProbeTarget; at: number; done: (o: ProbeOutcome) => void }[] = [];
  readonly aborted: string[] = [];
  readonly closed: string[] = [];
  constructor(private readonly clock: FakeClock) {}
  factory = (_config: HealthCheckConfig, target: ProbeTarget): Probe => ({
    start: (done) => this.started.push({ target, at: this.clock.now(), done }),
    abort: () => this.aborted.push(`${target.host}:${target.port}`),
    close: () => this.closed.push(`${target.host}:${target.port}`),
  });
  /** Answers the oldest unanswered check of `port` (results arrive asynchronously, as real probes'). */
  answer(port: number, outcome: ProbeOutcome): number {
    const i = this.started.findIndex((s) => s.target.port === port);
    assert.ok(i >= 0, `no check in flight for port ${port}`);
    const [check] = this.started.splice(i, 1);
    check!.done(outcome);
    return check!.at;
  }
  inFlight(port: number): number {
    return this.started.filter((s) => s.target.port === port).length;
  }
}

const OK: ProbeOutcome = { kind: 'success', degraded: false };
const BAD_STATUS: ProbeOutcome = { kind: 'failure', type: 'active', retriable: false };
const RETRIABLE: ProbeOutcome = { kind: 'failure', type: 'active', retriable: true };
const REFUSED: ProbeOutcome = { kind: 'failure', type: 'network', retriable: false };

function setup(overrides: Partial<HealthCheckConfig> = {}, random = () => 0) {
  const clock = new FakeClock(0);
  const probes = new ScriptedProbes(clock);
  let changes = 0;
  const checks: [string, boolean][] = [];
  const checker = new ActiveHealthChecker({ ...config, ...overrides }, {
    cluster: 'backend', clock, random, probes: probes.factory,
    onChange: () => changes++,
    onCheck: (id, healthy) => checks.push([id, healthy]),
  });
  return { clock, probes, checker, changes: () => changes, checks };
}

describe('active health checking (Envoy\'s session rules)', () => {
  test('hosts start failed; the cluster warms until each first check, which decides at once whatever the thresholds', async () => {
    const { probes, checker, changes } = setup();
    const view = checker.setEndpoints([endpoint(1), endpoint(2)]);
    assert.equal(view.length, 2, 'failed hosts stay in the set (they count for priority and panic)');
    assert.deepEqual([...checker.failedIds].sort(), ['10.0.0.1:1', '10.0.0.1:2']);
    assert.deepEqual(checker.flagsOf('10.0.0.1:1'), ['/failed_active_hc']);
    assert.equal(checker.isWarming, true);
    assert.equal(probes.inFlight(1), 1, 'the first check runs at once without initial_jitter');
    let warm = false;
    void checker.ready.then(() => (warm = true));
    probes.answer(1, OK);
    await tick();
    assert.deepEqual([...checker.failedIds], ['10.0.0.1:2'], 'one success passes a new host despite healthy_threshold 3');
    assert.equal(warm, false);
    probes.answer(2, BAD_STATUS);
    await tick();
    assert.equal(warm, true, 'warm once every first check ended, passed or not');
    assert.equal(checker.stats.healthy, 1);
    assert.equal(checker.stats.attempt, 2);
    assert.equal(checker.stats.success, 1);
    assert.equal(checker.stats.failure, 1);
    assert.equal(changes(), 1, 'only the host that passed changed the set');
    checker.close();
  });

  test('thresholds: network failures count to unhealthy_threshold, an active failure fails at once, successes count to healthy_threshold', async () => {
    const { clock, probes, checker } = setup();
    checker.noteTraffic();
    checker.setEndpoints([endpoint(1)]);
    probes.answer(1, OK);
    await tick();
    clock.advance(2000);
    probes.answer(1, REFUSED);
    await tick();
    assert.deepEqual([...checker.failedIds], [], 'one network failure of two');
    clock.advance(700); // unhealthy edge interval: a change is pending
    probes.answer(1, OK);
    await tick();
    clock.advance(2000);
    probes.answer(1, REFUSED);
    await tick();
    clock.advance(700);
    probes.answer(1, RETRIABLE);
    await tick();
    assert.deepEqual([...checker.failedIds], ['10.0.0.1:1'], 'two in a row (a retriable status counts like a network failure)');
    assert.equal(checker.stats.network_failure, 2);
    clock.advance(3000); // unhealthy_interval
    probes.answer(1, OK);
    await tick();
    clock.advance(600); // healthy edge interval
    probes.answer(1, OK);
    await tick();
    assert.deepEqual([...checker.failedIds], ['10.0.0.1:1'], 'two successes of three');
    clock.advance(600);
    probes.answer(1, OK);
    await tick();
    assert.deepEqual([...checker.failedIds], []);
    clock.advance(2000);
    probes.answer(1, BAD_STATUS);
    await tick();
    assert.deepEqual([...checker.failedIds], ['10.0.0.1:1'], 'an unexpected status fails a healthy host at once');
    checker.close();
  });

  test('intervals: no-traffic intervals until the cluster had traffic, then interval / unhealthy_interval / the edges, plus jitter', async () => {
    const { clock, probes, checker } = setup({ intervalJitterMs: 100, intervalJitterPercent: 10 }, () => 0.5);
    checker.setEndpoints([endpoint(1)]);
    const due = async (outcome: ProbeOutcome): Promise<number> => {
      const at = clock.now();
      probes.answer(1, outcome);
      await tick();
      const next = clock.nextDue!;
      clock.advance(next - clock.now());
      assert.equal(probes.inFlight(1), 1);
      return next - at;
    };
    // healthy, no traffic: no_traffic_healthy_interval 5000 + 10 % × 0.5 + 100 × 0.5
    assert.equal(await due(OK), 5000 + 250 + 50);
    // unhealthy (fails at once), no traffic: no_traffic_interval 4000
    assert.equal(await due(BAD_STATUS), 4000 + 200 + 50);
    checker.noteTraffic();
    // pending (1 of 3 successes): healthy_edge_interval 600
    assert.equal(await due(OK), 600 + 30 + 50);
    // failure while failed: unhealthy_interval 3000
    assert.equal(await due(REFUSED), 3000 + 150 + 50);
    checker.close();
  });

  test('a check that does not end within timeout is a network failure; the host shows /active_hc_timeout while failed', async () => {
    const { clock, probes, checker } = setup({ unhealthyThreshold: 1 });
    checker.noteTraffic();
    checker.setEndpoints([endpoint(1)]);
    probes.answer(1, OK);
    await tick();
    clock.advance(2000);
    assert.equal(probes.inFlight(1), 1);
    clock.advance(1000);
    assert.deepEqual(probes.aborted, ['10.0.0.1:1']);
    assert.deepEqual(checker.flagsOf('10.0.0.1:1'), ['/failed_active_hc', '/active_hc_timeout']);
    assert.equal(checker.stats.network_failure, 1);
    // The late answer of the aborted check is dropped.
    probes.answer(1, OK);
    await tick();
    assert.deepEqual(checker.flagsOf('10.0.0.1:1'), ['/failed_active_hc', '/active_hc_timeout']);
    checker.close();
  });

  test('ignore_new_hosts_until_first_hc: a host added after warming is left out of balancing until its first check', async () => {
    const { probes, checker } = setup({ ignoreNewHostsUntilFirstHc: true });
    checker.setEndpoints([endpoint(1)]);
    probes.answer(1, OK);
    await tick();
    const view = checker.setEndpoints([endpoint(1), endpoint(2)]);
    assert.deepEqual(view.map((e) => e.port), [1]);
    assert.deepEqual(checker.flagsOf('10.0.0.1:2'), ['/failed_active_hc', '/pending_active_hc']);
    probes.answer(2, BAD_STATUS);
    await tick();
    assert.deepEqual(checker.view().map((e) => e.port), [1, 2], 'checked once (even failed), it counts again');
    checker.close();
  });

  test('a host discovery removes stays while it passes (/pending_dynamic_removal) and goes when it fails; not with ignore_health_on_host_removal', async () => {
    const { clock, probes, checker, changes } = setup({ unhealthyThreshold: 1 });
    checker.noteTraffic();
    checker.setEndpoints([endpoint(1), endpoint(2)]);
    probes.answer(1, OK);
    probes.answer(2, OK);
    await tick();
    const view = checker.setEndpoints([endpoint(1)]);
    assert.deepEqual(view.map((e) => e.port), [1, 2]);
    assert.deepEqual(checker.flagsOf('10.0.0.1:2'), ['/pending_dynamic_removal']);
    const before = changes();
    clock.advance(2000);
    probes.answer(1, OK);
    probes.answer(2, REFUSED);
    await tick();
    assert.deepEqual(checker.view().map((e) => e.port), [1]);
    assert.equal(changes(), before + 1);
    assert.deepEqual(probes.closed, ['10.0.0.1:2']);
    checker.close();

    const other = setup({ ignoreHealthOnHostRemoval: true });
    other.checker.setEndpoints([endpoint(1), endpoint(2)]);
    other.probes.answer(1, OK);
    other.probes.answer(2, OK);
    await tick();
    assert.deepEqual(other.checker.setEndpoints([endpoint(1)]).map((e) => e.port), [1]);
    other.checker.close();
  });

  test('health_check_config: checks go to its address and port with its hostname; disable_active_health_check skips the host', async () => {
    const { probes, checker } = setup({ checker: { kind: 'http', host: 'configured.host', path: '/', method: 'GET', receive: [], responseBufferSize: 1024, expectedStatuses: [[200, 201]], retriableStatuses: [], http2: false } });
    checker.setEndpoints([
      endpoint(1, { healthCheck: { port: 9001 } }),
      endpoint(2, { healthCheck: { host: '10.9.9.9', port: 9002, hostname: 'ep.host' } }),
      endpoint(3, { healthCheck: { disabled: true } }),
    ]);
    assert.deepEqual(probes.started.map((s) => [s.target.host, s.target.port, s.target.authority]), [
      ['10.0.0.1', 9001, 'configured.host'],
      ['10.9.9.9', 9002, 'ep.host'],
    ]);
    assert.deepEqual([...checker.failedIds].sort(), ['10.0.0.1:1', '10.0.0.1:2']);
    checker.close();
  });

  test('a changed health check restarts the sessions keeping each host\'s state until its first new result; close stops every timer', async () => {
    const { clock, probes, checker } = setup();
    checker.setEndpoints([endpoint(1)]);
    probes.answer(1, OK);
    await tick();
    checker.update({ ...config, intervalMs: 9000 });
    assert.deepEqual([...checker.failedIds], []);
    assert.equal(probes.inFlight(1), 1, 'the new session checks at once');
    assert.deepEqual(probes.closed, ['10.0.0.1:1']);
    checker.close();
    assert.equal(clock.pendingTimers, 0);
  });
});

function tick(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}
