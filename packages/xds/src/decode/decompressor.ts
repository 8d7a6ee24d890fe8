/**
 * `envoy.extensions.filters.http.decompressor.v3.Decompressor` with the gzip, brotli and zstd decompressor
 * libraries (node:zlib). Both directions default to enabled, as Envoy's.
 */
import * as zlib from 'node:zlib';
import type { DecompressorConfig, DecompressorLibrary } from '../filter-model.js';
import { TypeUrl } from '../type-urls.js';
import { describeType, rejectUnsupported } from './fields.js';
import { libraryConfig, runtimeFlag } from './compressor.js';
import type { Reader } from './reader.js';

/** Envoy's default gzip `max_inflate_ratio`; also the bound xmesh keeps for brotli and zstd. */
export const DEFAULT_MAX_INFLATE_RATIO = 100;

export function decodeDecompressor(r: Reader): DecompressorConfig {
  let requestEnabled = true;
  let requestIgnoreNoTransform = false;
  let advertiseAcceptEncoding = true;
  let responseEnabled = true;
  let responseIgnoreNoTransform = false;
  const request = r.obj('request_direction_config');
  if (request) {
    const common = request.obj('common_config');
    if (common) ({ enabled: requestEnabled, ignoreNoTransform: requestIgnoreNoTransform } = commonConfig(common));
    advertiseAcceptEncoding = request.bool('advertise_accept_encoding', true);
    request.finish();
  }
  const response = r.obj('response_direction_config');
  if (response) {
    const common = response.obj('common_config');
    if (common) ({ enabled: responseEnabled, ignoreNoTransform: responseIgnoreNoTransform } = commonConfig(common));
    response.finish();
  }
  const library = r.obj('decompressor_library');
  let decoded: { library: DecompressorLibrary; statsScope: string } | undefined;
  if (!library) r.error('decompressor_library', 'is required');
  else decoded = decodeLibrary(library);
  r.finish();
  return {
    library: decoded?.library ?? { encoding: 'gzip', windowBits: 15, chunkSize: 4096, maxInflateRatio: DEFAULT_MAX_INFLATE_RATIO },
    statsScope: decoded?.statsScope ?? 'decompressor',
    requestEnabled, requestIgnoreNoTransform, advertiseAcceptEncoding, responseEnabled, responseIgnoreNoTransform,
  };
}

/** `Decompressor.CommonDirectionConfig`. */
function commonConfig(c: Reader): { enabled: boolean; ignoreNoTransform: boolean } {
  const enabled = runtimeFlag(c, 'enabled');
  const ignoreNoTransform = c.bool('ignore_no_transform_header', false);
  c.finish();
  return { enabled, ignoreNoTransform };
}

function decodeLibrary(lib: Reader): { library: DecompressorLibrary; statsScope: string } | undefined {
  const typed = libraryConfig(lib);
  if (typed === undefined) return undefined;
  const { name, any } = typed;
  const type = any.raw['@type'];
  let library: DecompressorLibrary;
  let statsPrefix: string;
  switch (type) {
    case TypeUrl.GzipDecompressor:
      library = {
        encoding: 'gzip',
        windowBits: any.int('window_bits', 15, 9, 15),
        chunkSize: any.int('chunk_size', 4096, 4096, 65536),
        maxInflateRatio: any.int('max_inflate_ratio', DEFAULT_MAX_INFLATE_RATIO, 1, 1032),
      };
      statsPrefix = 'gzip';
      break;
    case TypeUrl.BrotliDecompressor:
      // node:zlib's brotli decoder has no switch for ring buffer reallocation: it only trades memory for speed.
      any.ignore('disable_ring_buffer_reallocation');
      library = { encoding: 'br', windowBits: undefined, chunkSize: any.int('chunk_size', 4096, 4096, 65536), maxInflateRatio: DEFAULT_MAX_INFLATE_RATIO };
      statsPrefix = 'brotli';
      break;
    case TypeUrl.ZstdDecompressor:
      if (typeof (zlib as { createZstdDecompress?: unknown }).createZstdDecompress !== 'function') {
        any.issues.error(any.at('@type'), `zstd needs a Node.js whose node:zlib has zstd (22.15 or later); this is ${process.version}`);
      }
      rejectUnsupported(any, { dictionaries: 'zstd dictionaries are not implemented' });
      library = { encoding: 'zstd', windowBits: undefined, chunkSize: any.int('chunk_size', 4096, 4096, 65536), maxInflateRatio: DEFAULT_MAX_INFLATE_RATIO };
      statsPrefix = 'zstd';
      break;
    default:
      any.issues.error(any.at('@type'), type === undefined ? 'is required' : `unsupported decompressor library ${describeType(type)} (gzip, brotli and zstd are implemented)`);
      return undefined;
  }
  any.finish();
  return { library, statsScope: `decompressor.${name}.${statsPrefix}` };
}
