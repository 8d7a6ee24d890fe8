/**
 * `config.route.v3.HedgePolicy`, a virtual host's or a route action's `hedge_policy`.
 *
 * Envoy's router reads one field of it, `hedge_on_per_try_timeout` (FilterUtility::finalHedgingParams in
 * source/common/router/router.cc): a per-try timeout then leaves the attempt running and races a retry
 * with it. A route's `hedge_policy`, when present, replaces its virtual host's whole (Envoy's
 * RouteEntryImplBase::buildHedgePolicy). `initial_requests` and `additional_request_chance` are marked
 * not-implemented in the proto and nothing reads them, so an Envoy sidecar sends one request whatever
 * they say: xmesh accepts them only at their defaults and refuses any other value by path, so that no
 * mode, embedded, the xmesh sidecar or an Envoy sidecar, treats the same config differently without
 * saying so.
 */
import type { Reader } from './reader.js';

const NOT_READ_BY_ENVOY = 'Envoy\'s router never reads it (not implemented in Envoy), so an Envoy sidecar would send one request; set it to its default';

/** HedgePolicy fields accepted at their default values only, with the reason. */
export const HEDGE_POLICY_IGNORED: Readonly<Record<string, string>> = {
  initial_requests: `accepted only at 1, its default (0 is invalid, as in Envoy); any other value is refused by path: ${NOT_READ_BY_ENVOY}`,
  additional_request_chance: `accepted only at 0 %, its default; any other value is refused by path: ${NOT_READ_BY_ENVOY}`,
};

/**
 * Decodes the `hedge_policy` field of `r` (a VirtualHost or a RouteAction): its `hedge_on_per_try_timeout`,
 * or undefined when `r` has no `hedge_policy` (then the virtual host's applies to a route). See the module comment.
 */
export function decodeHedgePolicy(r: Reader): boolean | undefined {
  const h = r.obj('hedge_policy');
  if (!h) return undefined;
  if (h.int('initial_requests', 1, 1) !== 1) h.error('initial_requests', `is not supported: ${NOT_READ_BY_ENVOY}`);
  else h.ignore('initial_requests');
  const chance = h.fraction('additional_request_chance');
  if (chance !== undefined && chance.numerator !== 0) h.error('additional_request_chance', `is not supported: ${NOT_READ_BY_ENVOY}`);
  else h.ignore('additional_request_chance');
  const hedge = h.bool('hedge_on_per_try_timeout', false);
  h.finish();
  return hedge;
}
