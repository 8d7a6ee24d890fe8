/**
 * `envoy.extensions.filters.http.compressor.v3.Compressor` and `CompressorPerRoute`, with the gzip,
 * brotli and zstd compressor libraries (node:zlib). Compressing request bodies (`request_direction_config`
 * enabled) is refused with its path; a request direction that is configured but disabled is accepted.
 */
import * as zlib from 'node:zlib';
import type { CompressorConfig, CompressorLibrary } from '../filter-model.js';
import type { FilterOverride } from '../model.js';
import { TypeUrl } from '../type-urls.js';
import { describeType, oneOf, rejectUnsupported } from './fields.js';
import type { Reader } from './reader.js';

/** Envoy's default `content_type` list (source/extensions/filters/http/common/compressor/compressor.cc). */
export const DEFAULT_COMPRESSIBLE_TYPES: readonly string[] = Object.freeze([
  'text/html', 'text/plain', 'text/css', 'application/javascript', 'application/x-javascript', 'text/javascript', 'text/x-javascript',
  'text/ecmascript', 'text/js', 'text/jscript', 'text/x-js', 'application/ecmascript', 'application/x-json', 'application/xml',
  'application/json', 'image/svg+xml', 'text/xml', 'application/xhtml+xml',
]);

const GZIP_LEVELS: Readonly<Record<number, string>> = {
  0: 'DEFAULT_COMPRESSION', 1: 'BEST_SPEED', 9: 'BEST_COMPRESSION',
};
const GZIP_LEVEL_NAMES = [
  'DEFAULT_COMPRESSION', 'BEST_SPEED', 'BEST_COMPRESSION',
  ...[1, 2, 3, 4, 5, 6, 7, 8, 9].map((n) => `COMPRESSION_LEVEL_${n}`),
] as const;
const GZIP_STRATEGIES = ['DEFAULT_STRATEGY', 'FILTERED', 'HUFFMAN_ONLY', 'RLE', 'FIXED'] as const;
const BROTLI_MODES = ['DEFAULT', 'GENERIC', 'TEXT', 'FONT'] as const;
const ZSTD_STRATEGIES = ['DEFAULT', 'FAST', 'DFAST', 'GREEDY', 'LAZY', 'LAZY2', 'BTLAZY2', 'BTOPT', 'BTULTRA', 'BTULTRA2'] as const;

const enumNumbers = <T extends string>(names: readonly T[]): Record<number, T> => Object.fromEntries(names.map((n, i) => [i, n])) as Record<number, T>;

export function decodeCompressor(r: Reader): CompressorConfig {
  let responseEnabled = true;
  let minContentLength = 30;
  let contentTypes: ReadonlySet<string> = new Set(DEFAULT_COMPRESSIBLE_TYPES);
  let disableOnEtagHeader = false;
  let removeAcceptEncodingHeader = false;
  let uncompressibleResponseCodes: ReadonlySet<number> = new Set();
  const response = r.obj('response_direction_config');
  if (response) {
    const common = response.obj('common_config');
    if (common) {
      ({ enabled: responseEnabled, minContentLength, contentTypes } = commonConfig(common));
    }
    disableOnEtagHeader = response.bool('disable_on_etag_header', false);
    removeAcceptEncodingHeader = response.bool('remove_accept_encoding_header', false);
    const codes = new Set<number>();
    for (const { value, path } of response.list('uncompressible_response_codes')) {
      if (typeof value !== 'number' || !Number.isInteger(value) || value < 200 || value > 599) r.issues.error(path, `must be an HTTP status in [200, 599], got ${JSON.stringify(value)}`);
      else codes.add(value);
    }
    uncompressibleResponseCodes = codes;
    response.finish();
  }
  const request = r.obj('request_direction_config');
  if (request) {
    const common = request.obj('common_config');
    if (common && commonConfig(common).enabled) {
      common.issues.error(common.at('enabled'), 'compressing request bodies is not implemented: set enabled.default_value to false (the request direction is off when request_direction_config is absent)');
    }
    request.finish();
  }
  const chooseFirst = r.bool('choose_first', false);
  rejectUnsupported(r, {
    content_length: 'deprecated: use response_direction_config.common_config.min_content_length',
    content_type: 'deprecated: use response_direction_config.common_config.content_type',
    disable_on_etag_header: 'deprecated: use response_direction_config.disable_on_etag_header',
    remove_accept_encoding_header: 'deprecated: use response_direction_config.remove_accept_encoding_header',
    runtime_enabled: 'deprecated: use response_direction_config.common_config.enabled',
  });
  const library = r.obj('compressor_library');
  let decoded: { library: CompressorLibrary; statsScope: string } | undefined;
  if (!library) r.error('compressor_library', 'is required');
  else decoded = decodeLibrary(library);
  r.finish();
  return {
    library: decoded?.library ?? { encoding: 'gzip', level: 6, windowBits: 12, memoryLevel: 5, strategy: 'DEFAULT_STRATEGY', chunkSize: 4096 },
    statsScope: decoded?.statsScope ?? 'compressor',
    responseEnabled, minContentLength, contentTypes, disableOnEtagHeader, removeAcceptEncodingHeader, uncompressibleResponseCodes, chooseFirst,
  };
}

/** `Compressor.CommonDirectionConfig`. */
function commonConfig(c: Reader): { enabled: boolean; minContentLength: number; contentTypes: ReadonlySet<string> } {
  const enabled = runtimeFlag(c, 'enabled');
  const minContentLength = c.int('min_content_length', 30);
  const types = c.strings('content_type');
  c.finish();
  return { enabled, minContentLength, contentTypes: new Set(types.length > 0 ? types.map((t) => t.trim().toLowerCase()) : DEFAULT_COMPRESSIBLE_TYPES) };
}

/** `config.core.v3.TypedExtensionConfig` naming the compressor library. */
function decodeLibrary(lib: Reader): { library: CompressorLibrary; statsScope: string } | undefined {
  const typed = libraryConfig(lib);
  if (typed === undefined) return undefined;
  const { name, any } = typed;
  const type = any.raw['@type'];
  let library: CompressorLibrary;
  let statsPrefix: string;
  switch (type) {
    case TypeUrl.GzipCompressor: {
      const levelName = any.enumOf('compression_level', GZIP_LEVEL_NAMES, 'DEFAULT_COMPRESSION', { ...GZIP_LEVELS, ...Object.fromEntries([2, 3, 4, 5, 6, 7, 8].map((n) => [n, `COMPRESSION_LEVEL_${n}`])) } as Record<number, (typeof GZIP_LEVEL_NAMES)[number]>);
      library = {
        encoding: 'gzip',
        level: gzipLevel(levelName),
        memoryLevel: any.int('memory_level', 5, 1, 9),
        windowBits: any.int('window_bits', 12, 9, 15),
        strategy: any.enumOf('compression_strategy', GZIP_STRATEGIES, 'DEFAULT_STRATEGY', enumNumbers(GZIP_STRATEGIES)),
        chunkSize: any.int('chunk_size', 4096, 4096, 65536),
      };
      statsPrefix = 'gzip';
      break;
    }
    case TypeUrl.BrotliCompressor:
      library = {
        encoding: 'br',
        quality: any.int('quality', 3, 0, 11),
        windowBits: any.int('window_bits', 18, 10, 24),
        inputBlockBits: any.int('input_block_bits', 24, 16, 24),
        encoderMode: any.enumOf('encoder_mode', BROTLI_MODES, 'DEFAULT', enumNumbers(BROTLI_MODES)),
        disableLiteralContextModeling: any.bool('disable_literal_context_modeling', false),
        chunkSize: any.int('chunk_size', 4096, 1024, 65536),
      };
      statsPrefix = 'brotli';
      break;
    case TypeUrl.ZstdCompressor: {
      if (typeof (zlib as { createZstdCompress?: unknown }).createZstdCompress !== 'function') {
        any.issues.error(any.at('@type'), `zstd needs a Node.js whose node:zlib has zstd (22.15 or later); this is ${process.version}`);
      }
      rejectUnsupported(any, { dictionary: 'zstd dictionaries are not implemented' });
      library = {
        encoding: 'zstd',
        level: any.int('compression_level', 3, 0, 22),
        enableChecksum: any.bool('enable_checksum', false),
        strategy: ZSTD_STRATEGIES.indexOf(any.enumOf('strategy', ZSTD_STRATEGIES, 'DEFAULT', enumNumbers(ZSTD_STRATEGIES))),
        chunkSize: any.int('chunk_size', 4096, 4096, 65536),
      };
      statsPrefix = 'zstd';
      break;
    }
    default:
      any.issues.error(any.at('@type'), type === undefined ? 'is required' : `unsupported compressor library ${describeType(type)} (gzip, brotli and zstd are implemented)`);
      return undefined;
  }
  any.finish();
  return { library, statsScope: `compressor.${name}.${statsPrefix}` };
}

/** A `config.core.v3.RuntimeFeatureFlag` field: its `default_value` (required); true when the field is absent. */
export function runtimeFlag(r: Reader, key: string): boolean {
  const flag = r.obj(key);
  if (!flag) return true;
  if (!flag.has('default_value')) flag.error('default_value', 'is required');
  const value = flag.bool('default_value', true);
  flag.ignore('runtime_key');
  flag.finish();
  return value;
}

/** A `TypedExtensionConfig` naming a (de)compression library: its name and `typed_config`; undefined (reported) without one. */
export function libraryConfig(lib: Reader): { name: string; any: Reader } | undefined {
  const name = lib.requiredStr('name');
  const any = lib.obj('typed_config');
  lib.finish();
  if (!any) {
    lib.error('typed_config', 'is required');
    return undefined;
  }
  return { name, any };
}

function gzipLevel(name: string): number {
  if (name === 'DEFAULT_COMPRESSION') return 6;
  if (name === 'BEST_SPEED') return 1;
  if (name === 'BEST_COMPRESSION') return 9;
  return Number(name.slice('COMPRESSION_LEVEL_'.length));
}

/** `CompressorPerRoute`: `disabled: true`, or `overrides`. */
export function decodeCompressorPerRoute(r: Reader): FilterOverride | undefined {
  const which = oneOf(r, ['disabled', 'overrides'] as const, 'one of disabled, overrides is required');
  const disabled = r.bool('disabled', false);
  const overrides = r.obj('overrides');
  let removeAcceptEncodingHeader: boolean | undefined;
  if (overrides) {
    const response = overrides.obj('response_direction_config');
    if (response) {
      rejectUnsupported(response, { common_config: 'a per-route common_config is not implemented' });
      removeAcceptEncodingHeader = response.has('remove_accept_encoding_header') ? response.bool('remove_accept_encoding_header', false) : undefined;
      response.finish();
    }
    overrides.finish();
  }
  r.finish();
  if (which === 'disabled') {
    if (!disabled) r.error('disabled', 'must be true');
    return { kind: 'disabled' };
  }
  return which === 'overrides' ? { kind: 'compressor', config: { kind: 'overrides', removeAcceptEncodingHeader } } : undefined;
}
