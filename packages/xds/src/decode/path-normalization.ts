/**
 * The HttpConnectionManager's request-path handling, applied before routing to the path that is
 * routed and forwarded (ConnectionManagerUtility::maybeNormalizePath in Envoy): escaped slashes
 * first, then `normalize_path`, then `merge_slashes`. Also refuses the HCM fields that would change
 * the request or its routing and that xmesh does not implement.
 */
import type { PathNormalization } from '../model.js';
import { rejectUnsupported } from './fields.js';
import type { Reader } from './reader.js';

const ESCAPED_SLASHES_ACTIONS = {
  0: 'IMPLEMENTATION_SPECIFIC_DEFAULT',
  1: 'KEEP_UNCHANGED',
  2: 'REJECT_REQUEST',
  3: 'UNESCAPE_AND_REDIRECT',
  4: 'UNESCAPE_AND_FORWARD',
} as const;

/** HCM fields refused: each would change where a request goes or what is sent. */
const UNSUPPORTED_HCM_FIELDS: Readonly<Record<string, string>> = {
  path_normalization_options: 'separate forwarding and filter path transformations are not implemented; use normalize_path and merge_slashes',
};

/** Reads the path fields of `hcm`; undefined when all are off (Envoy's defaults). */
export function decodePathNormalization(hcm: Reader): PathNormalization | undefined {
  const normalizePath = hcm.bool('normalize_path', false);
  const mergeSlashes = hcm.bool('merge_slashes', false);
  const action = hcm.enumOf('path_with_escaped_slashes_action', Object.values(ESCAPED_SLASHES_ACTIONS), 'IMPLEMENTATION_SPECIFIC_DEFAULT', ESCAPED_SLASHES_ACTIONS);
  let escapedSlashes: PathNormalization['escapedSlashes'] = 'KEEP_UNCHANGED';
  if (action === 'UNESCAPE_AND_REDIRECT') {
    hcm.error('path_with_escaped_slashes_action', 'UNESCAPE_AND_REDIRECT is not supported (the mesh answers no redirects); use UNESCAPE_AND_FORWARD or REJECT_REQUEST');
  } else if (action === 'REJECT_REQUEST' || action === 'UNESCAPE_AND_FORWARD') {
    escapedSlashes = action;
  }
  // Envoy's default for IMPLEMENTATION_SPECIFIC_DEFAULT is KEEP_UNCHANGED (runtime
  // http_connection_manager.path_with_escaped_slashes_action unset).
  rejectUnsupported(hcm, UNSUPPORTED_HCM_FIELDS);
  if (hcm.bool('strip_trailing_host_dot', false)) {
    hcm.error('strip_trailing_host_dot', 'is not supported: a trailing dot in the authority is kept for routing and forwarding');
  }
  const via = hcm.str('via');
  if (via) hcm.error('via', 'is not supported: no Via header is added to requests or responses');
  if (!normalizePath && !mergeSlashes && escapedSlashes === 'KEEP_UNCHANGED') return undefined;
  return { normalizePath, mergeSlashes, escapedSlashes };
}
