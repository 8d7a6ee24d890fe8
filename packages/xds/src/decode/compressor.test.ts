// The compressor and decompressor decoders: Envoy's defaults, and each refusal with its field path.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Issues, Reader } from './reader.js';
import { decodeCompressor, decodeCompressorPerRoute, DEFAULT_COMPRESSIBLE_TYPES } from './compressor.js';
import { decodeDecompressor } from './decompressor.js';

function run<T>(decode: (r: Reader) => T, input: unknown): { value: T; issues: Issues } {
  const issues = new Issues();
  return { value: decode(Reader.of(input, 'x', issues)!), issues };
}

const GZIP = { name: 'g', typed_config: { '@type': 'type.googleapis.com/envoy.extensions.compression.gzip.compressor.v3.Gzip' } };

test('compressor defaults: gzip level 6, window 12, memory 5, min_content_length 30, Envoy\'s content types, response direction on', () => {
  const { value, issues } = run(decodeCompressor, { compressor_library: GZIP });
  assert.deepEqual(issues.errors, []);
  assert.deepEqual(value.library, { encoding: 'gzip', level: 6, memoryLevel: 5, windowBits: 12, strategy: 'DEFAULT_STRATEGY', chunkSize: 4096 });
  assert.deepEqual([value.responseEnabled, value.minContentLength, [...value.contentTypes], value.statsScope], [true, 30, [...DEFAULT_COMPRESSIBLE_TYPES], 'compressor.g.gzip']);
});

const REFUSALS: [string, unknown, string, string][] = [
  ['no library', {}, 'x.compressor_library', 'is required'],
  ['request compression', { compressor_library: GZIP, request_direction_config: { common_config: { min_content_length: 10 } } }, 'x.request_direction_config.common_config.enabled', 'compressing request bodies is not implemented'],
  ['deprecated content_length', { compressor_library: GZIP, content_length: 10 }, 'x.content_length', 'deprecated'],
  ['unknown library', { compressor_library: { name: 'd', typed_config: { '@type': 'type.googleapis.com/some.Deflate' } } }, 'x.compressor_library.typed_config.@type', 'unsupported compressor library'],
  ['gzip window_bits out of range', { compressor_library: { name: 'g', typed_config: { ...GZIP.typed_config, window_bits: 20 } } }, 'x.compressor_library.typed_config.window_bits', 'in [9, 15]'],
  ['brotli quality out of range', { compressor_library: { name: 'b', typed_config: { '@type': 'type.googleapis.com/envoy.extensions.compression.brotli.compressor.v3.Brotli', quality: 12 } } }, 'x.compressor_library.typed_config.quality', 'in [0, 11]'],
  ['zstd dictionary', { compressor_library: { name: 'z', typed_config: { '@type': 'type.googleapis.com/envoy.extensions.compression.zstd.compressor.v3.Zstd', dictionary: { inline_string: 'x' } } } }, 'x.compressor_library.typed_config.dictionary', 'dictionaries are not implemented'],
  ['uncompressible code out of range', { compressor_library: GZIP, response_direction_config: { uncompressible_response_codes: [100] } }, 'x.response_direction_config.uncompressible_response_codes[0]', 'in [200, 599]'],
];

for (const [name, input, path, fragment] of REFUSALS) {
  test(`compressor refused with its path: ${name}`, () => {
    const { errors } = run(decodeCompressor, input).issues;
    assert.equal(errors.length, 1, JSON.stringify(errors));
    assert.equal(errors[0]!.path, path);
    assert.ok(errors[0]!.message.includes(fragment), errors[0]!.message);
  });
}

test('CompressorPerRoute: disabled, overrides, and a per-route common_config refused', () => {
  assert.deepEqual(run(decodeCompressorPerRoute, { disabled: true }).value, { kind: 'disabled' });
  assert.deepEqual(run(decodeCompressorPerRoute, { overrides: { response_direction_config: { remove_accept_encoding_header: true } } }).value, { kind: 'compressor', config: { kind: 'overrides', removeAcceptEncodingHeader: true } });
  const { errors } = run(decodeCompressorPerRoute, { overrides: { response_direction_config: { common_config: { min_content_length: 5 } } } }).issues;
  assert.deepEqual(errors.map((e) => e.path), ['x.overrides.response_direction_config.common_config']);
});

test('decompressor defaults (both directions on, advertise on, gzip window 15, ratio 100) and refusals with their paths', () => {
  const { value, issues } = run(decodeDecompressor, { decompressor_library: { name: 'u', typed_config: { '@type': 'type.googleapis.com/envoy.extensions.compression.gzip.decompressor.v3.Gzip' } } });
  assert.deepEqual(issues.errors, []);
  assert.deepEqual(value, {
    library: { encoding: 'gzip', windowBits: 15, chunkSize: 4096, maxInflateRatio: 100 }, statsScope: 'decompressor.u.gzip',
    requestEnabled: true, requestIgnoreNoTransform: false, advertiseAcceptEncoding: true, responseEnabled: true, responseIgnoreNoTransform: false,
  });
  const ratio = run(decodeDecompressor, { decompressor_library: { name: 'u', typed_config: { '@type': 'type.googleapis.com/envoy.extensions.compression.gzip.decompressor.v3.Gzip', max_inflate_ratio: 2000 } } }).issues.errors;
  assert.deepEqual(ratio.map((e) => e.path), ['x.decompressor_library.typed_config.max_inflate_ratio']);
  const dict = run(decodeDecompressor, { decompressor_library: { name: 'z', typed_config: { '@type': 'type.googleapis.com/envoy.extensions.compression.zstd.decompressor.v3.Zstd', dictionaries: [{ inline_string: 'x' }] } } }).issues.errors;
  assert.deepEqual(dict.map((e) => e.path), ['x.decompressor_library.typed_config.dictionaries']);
  assert.deepEqual(run(decodeDecompressor, {}).issues.errors.map((e) => e.path), ['x.decompressor_library']);
});
