/** `envoy.extensions.filters.http.buffer.v3.Buffer` and `BufferPerRoute`. */
import type { BufferConfig } from '../filter-model.js';
import type { FilterOverride } from '../model.js';
import { oneOf } from './fields.js';
import type { Reader } from './reader.js';

export function decodeBuffer(r: Reader): BufferConfig {
  if (!r.has('max_request_bytes')) r.error('max_request_bytes', 'is required');
  const maxRequestBytes = r.int('max_request_bytes', 0);
  if (r.has('max_request_bytes') && maxRequestBytes === 0) r.error('max_request_bytes', 'must be greater than 0');
  r.finish();
  return { maxRequestBytes };
}

/** `BufferPerRoute`: `disabled: true`, or a `buffer` replacing the filter's. */
export function decodeBufferPerRoute(r: Reader): FilterOverride | undefined {
  const which = oneOf(r, ['disabled', 'buffer'] as const, 'one of disabled, buffer is required');
  const disabled = r.bool('disabled', false);
  const inner = r.obj('buffer');
  r.finish();
  if (which === 'disabled') {
    if (!disabled) r.error('disabled', 'must be true');
    return { kind: 'disabled' };
  }
  return inner ? { kind: 'buffer', config: decodeBuffer(inner) } : undefined;
}
