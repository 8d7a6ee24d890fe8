import { createHash } from 'node:crypto';
import { SensitiveText } from '@xmesh/xds';

/**
 * A key that changes with any part of a TLS config, inline keys included (hashed, never kept in clear): contexts
 * with the same key are the same context, and keep their connections across config swaps.
 */
export function configKey(config: unknown): string {
  // The replacer reads the holder's own value: SensitiveText's toJSON has already turned `value` into "[redacted]".
  const json = JSON.stringify(config, function (this: Record<string, unknown>, key: string, value: unknown) {
    const own = this[key];
    return own instanceof SensitiveText ? `sha256:${createHash('sha256').update(own.reveal()).digest('base64')}` : value;
  });
  return createHash('sha256').update(json).digest('base64');
}
