import type { Fraction } from '@xmesh/xds';

/**
 * Envoy's FractionalPercent test: a uniform draw in [0, denominator) below the numerator.
 * A numerator at or above the denominator always hits; 0 never does.
 */
export function fractionHit(fraction: Fraction, random: () => number): boolean {
  if (fraction.numerator <= 0) return false;
  if (fraction.numerator >= fraction.denominator) return true;
  return Math.floor(random() * fraction.denominator) < fraction.numerator;
}
