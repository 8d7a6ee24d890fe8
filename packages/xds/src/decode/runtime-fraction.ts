/** `config.core.v3.RuntimeFractionalPercent`: xmesh has no runtime, so only `default_value` counts. */
import type { Fraction } from '../model.js';
import type { Reader } from './reader.js';

/**
 * The `default_value` of the RuntimeFractionalPercent field `key` (required in it, as in Envoy);
 * `runtime_key` is recorded as ignored. Returns undefined when the field is absent.
 */
export function runtimeFractionField(r: Reader, key: string): Fraction | undefined {
  const sub = r.obj(key);
  if (!sub) return undefined;
  if (!sub.has('default_value')) sub.error('default_value', 'is required');
  const fraction = sub.fraction('default_value') ?? { numerator: 0, denominator: 100 };
  sub.ignore('runtime_key');
  sub.finish();
  return fraction;
}
