/** `config.core.v3.CidrRange`: an IPv4 or IPv6 prefix and its length (0..32 or 0..128). */
import { isIP } from 'node:net';
import type { CidrRange } from '../model.js';
import type { Reader } from './reader.js';

/** The range, or undefined when `address_prefix` is not an IP address (reported). */
export function readCidrRange(r: Reader): CidrRange | undefined {
  const addressPrefix = r.requiredStr('address_prefix');
  const family = isIP(addressPrefix);
  if (family === 0 && addressPrefix !== '') r.error('address_prefix', `must be an IPv4 or IPv6 address, got ${JSON.stringify(addressPrefix)}`);
  const prefixLen = r.int('prefix_len', 0, 0, family === 6 ? 128 : 32);
  r.finish();
  return family === 0 ? undefined : { addressPrefix, prefixLen };
}
