/**
 * `config.route.v3.HedgePolicy`, a virtual host's or a route action's `hedge_policy`.
 *
 * Envoy's router reads one field of it, `hedge_on_per_try_timeout` (FilterUtility::finalHedgingParams in
 * source/common/router/router.cc); `initial_requests` and `additional_request_chance` are marked
 * not-implemented in the proto and nothing reads them, so an Envoy sidecar sends one request whatever
 * they say. xmesh does not hedge: it accepts a policy only where it changes nothing in Envoy either
 * (every field absent or at its default) and refuses any other value by path, so that no mode, embedded,
 * the xmesh sidecar or an Envoy sidecar, treats the same config differently without saying so.
 */
import type { Reader } from './reader.js';

const NOT_READ_BY_ENVOY = 'Envoy\'s router never reads it (not implemented in Envoy), so an Envoy sidecar would send one request; set it to its default';

/** HedgePolicy fields accepted at their default values only, with the reason. */
export const HEDGE_POLICY_IGNORED: Readonly<Record<string, string>> = {
  initial_requests: `accepted only at 1, its default (0 is invalid, as in Envoy); any other value is refused by path: ${NOT_READ_BY_ENVOY}`,
  additional_request_chance: `accepted only at 0 %, its default; any other value is refused by path: ${NOT_READ_BY_ENVOY}`,
  hedge_on_per_try_timeout: 'accepted only at false, its default (a per-try timeout cancels the attempt, then retries); true is refused by path: request hedging is not implemented',
};

/** Checks the `hedge_policy` field of `r` (a VirtualHost or a RouteAction), when present: see the module comment. */
export function checkHedgePolicy(r: Reader): void {
  const h = r.obj('hedge_policy');
  if (!h) return;
  if (h.int('initial_requests', 1, 1) !== 1) h.error('initial_requests', `is not supported: ${NOT_READ_BY_ENVOY}`);
  else h.ignore('initial_requests');
  const chance = h.fraction('additional_request_chance');
  if (chance !== undefined && chance.numerator !== 0) h.error('additional_request_chance', `is not supported: ${NOT_READ_BY_ENVOY}`);
  else h.ignore('additional_request_chance');
  if (h.bool('hedge_on_per_try_timeout', false)) {
    h.error('hedge_on_per_try_timeout', 'is not supported: request hedging is not implemented (the per-try timeout would cancel the attempt instead of racing a second one with it)');
  } else h.ignore('hedge_on_per_try_timeout');
  h.finish();
}
