import { test } from 'node:test';
import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import type { Http2Session, ServerHttp2Stream } from 'node:http2';
import { DEFAULT_DOWNSTREAM_PROTECTION } from '@xmesh/xds';
import { defaultSidecarLimits } from './protection.js';
import { SessionGuard, type SessionGuardEvents } from './session-guard.js';

/** A session double: counts drains and aborts. */
function fakeSession(): Http2Session & { closes: number; destroys: number } {
  const session = Object.assign(new EventEmitter(), {
    closed: false, destroyed: false, closes: 0, destroys: 0,
    close() { session.closes++; session.closed = true; },
    goaway() {},
    destroy() { session.destroys++; session.destroyed = true; },
  });
  return session as unknown as Http2Session & { closes: number; destroys: number };
}

function events(): SessionGuardEvents & { premature: number; maxRequests: number } {
  const e = { premature: 0, maxRequests: 0, idleTimeout() {}, maxDurationReached() {}, maxRequestsReached() { e.maxRequests++; }, tooManyPrematureResets() { e.premature++; } };
  return e;
}

const stream = (): ServerHttp2Stream => ({}) as ServerHttp2Stream;
const NO_IDLE = { ...DEFAULT_DOWNSTREAM_PROTECTION, idleTimeoutMs: 0 };

test('premature resets: before the total count, half of it trips the check; after, half of the streams closed', async () => {
  const limits = { ...defaultSidecarLimits(), prematureResetTotalStreamCount: 100 };
  const early = fakeSession();
  const e = events();
  const guard = new SessionGuard(early, NO_IDLE, limits, e);
  for (let i = 0; i < 49; i++) {
    const s = stream();
    guard.streamOpened(s);
    guard.streamClosed(s, false);
  }
  assert.equal(e.premature, 0);
  const last = stream();
  guard.streamOpened(last);
  guard.streamClosed(last, false);
  assert.equal(e.premature, 1, 'the 50th premature reset of 100 trips it');
  await new Promise((r) => setImmediate(r));
  assert.equal(early.destroys, 1, 'the connection is closed on the next turn');
  // Answered streams keep the ratio healthy: 100 answered, then 99 premature (< half of 199).
  const mixed = fakeSession();
  const m = events();
  const healthy = new SessionGuard(mixed, NO_IDLE, limits, m);
  for (let i = 0; i < 100; i++) {
    const s = stream();
    healthy.streamOpened(s);
    healthy.streamClosed(s, true);
  }
  for (let i = 0; i < 99; i++) {
    const s = stream();
    healthy.streamOpened(s);
    healthy.streamClosed(s, false);
  }
  assert.equal(m.premature, 0);
  const tip = stream();
  healthy.streamOpened(tip);
  healthy.streamClosed(tip, false);
  assert.equal(m.premature, 1, '100 of 200 closed streams premature');
});

test('max_requests_per_connection drains once, at that stream', () => {
  const session = fakeSession();
  const e = events();
  const guard = new SessionGuard(session, { ...NO_IDLE, maxRequestsPerConnection: 2 }, defaultSidecarLimits(), e);
  guard.streamOpened(stream());
  assert.equal(session.closes, 0);
  guard.streamOpened(stream());
  assert.equal(session.closes, 1);
  assert.equal(e.maxRequests, 1);
  guard.dispose();
});
