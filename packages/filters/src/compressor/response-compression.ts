/**
 * Envoy's compressor filter, response direction (source/extensions/filters/http/common/compressor): which
 * encoding the client's Accept-Encoding picks among the compressor filters of the chain, whether a
 * response may be compressed, the header edits when it is, and the streaming encoder (each chunk the
 * upstream sends is compressed and flushed, as Envoy flushes at the end of each data frame; nothing is
 * buffered beyond zlib's window).
 */
import * as zlib from 'node:zlib';
import { Duplex, pipeline, Transform } from 'node:stream';
import { MeshError } from '@xmesh/core';
import type { Counter } from '@xmesh/stats';
import type { CompressorConfig, CompressorLibrary, DecompressorConfig, DecompressorLibrary } from '@xmesh/xds';

export interface CompressorStats {
  readonly compressed: Counter;
  readonly notCompressed: Counter;
  readonly noAcceptHeader: Counter;
  readonly headerIdentity: Counter;
  readonly headerCompressorUsed: Counter;
  readonly headerCompressorOvershadowed: Counter;
  readonly headerWildcard: Counter;
  readonly headerNotValid: Counter;
  readonly totalUncompressedBytes: Counter;
  readonly totalCompressedBytes: Counter;
  readonly contentLengthTooSmall: Counter;
  readonly notCompressedEtag: Counter;
}

/** A decompressor filter's counters for one direction (`<scope>.request.*`, `<scope>.response.*`). */
export interface DecompressorStats {
  readonly decompressed: Counter;
  readonly notDecompressed: Counter;
  readonly totalUncompressedBytes: Counter;
  readonly totalCompressedBytes: Counter;
}

/** Response headers as the sidecar holds them (lower-case names, HTTP/2 form). */
export type ResponseHeaderRecord = Record<string, string | string[] | number | undefined>;

/** Why the chosen encoding won (Envoy's `EncodingDecision::HeaderStat`). */
export type EncodingStat = 'compressor' | 'identity' | 'wildcard' | 'not_valid';

/**
 * Envoy's `chooseEncoding`: among the `registered` encodings (in registration order, `choose_first` ones
 * first) the one the client gives the highest q-value, `identity` when none fits; `*` picks the first
 * registered; an encoding with q=0 is never used even when `*` allows others. `invalid` counts
 * Accept-Encoding entries whose q-value does not parse (they are skipped).
 */
export function chooseEncoding(acceptEncoding: string, registered: readonly string[], invalid?: () => void): { encoding: string; stat: EncodingStat } {
  const allowed = [...registered];
  const pairs: { token: string; q: number }[] = [];
  for (const raw of acceptEncoding.split(',')) {
    const semi = raw.indexOf(';');
    const token = (semi < 0 ? raw : raw.slice(0, semi)).trim().toLowerCase();
    if (token === '') continue;
    let q = 1;
    if (semi >= 0) {
      const params = raw.slice(semi + 1);
      const eq = params.indexOf('=');
      if (eq >= 0 && params.slice(0, eq).trim().toLowerCase() === 'q') {
        const value = params.slice(eq + 1).trim();
        q = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/.test(value) ? Number(value) : NaN;
        if (Number.isNaN(q)) {
          invalid?.();
          continue;
        }
      }
    }
    pairs.push({ token, q });
    if (q === 0) {
      for (let i = allowed.length - 1; i >= 0; i--) if (allowed[i] === token) allowed.splice(i, 1);
    }
  }
  if (pairs.length === 0 || allowed.length === 0) return { encoding: 'identity', stat: 'not_valid' };
  let choice = { token: 'identity', q: 0 };
  for (const pair of pairs) {
    if (pair.q > choice.q && (allowed.includes(pair.token) || pair.token === 'identity' || pair.token === '*')) choice = pair;
  }
  if (choice.q === 0) return { encoding: 'identity', stat: 'not_valid' };
  if (choice.token === 'identity') return { encoding: 'identity', stat: 'identity' };
  if (choice.token === '*') return { encoding: allowed[0]!, stat: 'wildcard' };
  return { encoding: choice.token, stat: 'compressor' };
}

interface Entry {
  readonly config: CompressorConfig;
  readonly stats: CompressorStats;
}

interface DecompressorEntry {
  readonly decompressor: DecompressorConfig;
  readonly stats: DecompressorStats;
  /** Position in the chain among every filter registered here. */
  readonly position: number;
}

/**
 * The compressor filters that ran for one call, and the client's Accept-Encoding as it came (before a
 * filter removed it from the upstream request). The front end asks it, once the response headers are
 * known, for an encoder.
 */
export class ResponseCompression {
  private readonly entries: (Entry & { readonly position: number })[] = [];
  private readonly decompressors: DecompressorEntry[] = [];
  private registered = 0;

  constructor(private readonly acceptEncoding: string | undefined, private readonly method: string) {}

  /** A compressor filter of the chain (in chain order). */
  add(config: CompressorConfig, stats: CompressorStats): void {
    const entry = { config, stats, position: this.registered++ };
    if (config.chooseFirst) this.entries.unshift(entry);
    else this.entries.push(entry);
  }

  /** A decompressor filter of the chain (in chain order), response direction. */
  addDecompressor(decompressor: DecompressorConfig, stats: DecompressorStats): void {
    this.decompressors.push({ decompressor, stats, position: this.registered++ });
  }

  /**
   * Decides for a response (`headers` with `:status`), edits `headers` in place (Content-Encoding, Vary,
   * ETag, Content-Length) and returns the encoder the body goes through, or undefined to send it as it is.
   * `endStream`: the response has no body.
   */
  begin(headers: ResponseHeaderRecord, endStream: boolean): Transform | undefined {
    const status = Number(headers[':status']);
    const noBody = endStream || this.method === 'HEAD' || status === 204 || status === 304 || status < 200;
    const coders: Transform[] = [];
    // Envoy's encoder filters run in reverse chain order: a decompressor after a compressor in the chain
    // decodes the upstream's body first; the first compressor to compress sets Content-Encoding.
    const order = [...this.entries, ...this.decompressors].sort((a, b) => b.position - a.position);
    for (const entry of order) {
      if ('decompressor' in entry) {
        const decoder = this.decompressing(entry, headers, noBody);
        if (decoder !== undefined) coders.push(decoder);
        continue;
      }
      const { config, stats } = entry;
      const compressible = config.responseEnabled && minimumLength(headers, config, stats) && !config.uncompressibleResponseCodes.has(status) &&
        contentTypeAllowed(headers, config) && !hasToken(headers['cache-control'], 'no-transform') && etagAllowed(headers, config, stats) &&
        headers['content-encoding'] === undefined && !hasToken(headers['transfer-encoding'], config.library.encoding);
      if (compressible && !noBody && this.acceptsEncoding(config, stats)) {
        weakenEtag(headers);
        delete headers['content-length'];
        headers['content-encoding'] = config.library.encoding;
        addVary(headers);
        stats.compressed.inc();
        coders.push(createEncoder(config.library, stats));
        continue;
      }
      if (compressible) addVary(headers);
      stats.notCompressed.inc();
    }
    if (coders.length <= 1) return coders[0];
    // A decoder then an encoder: one stream to the front end; an error in either destroys both.
    pipeline(coders, ignoreError);
    return Duplex.from({ writable: coders[0], readable: coders[coders.length - 1] }) as Transform;
  }

  private decompressing({ decompressor, stats }: DecompressorEntry, headers: ResponseHeaderRecord, noBody: boolean): Transform | undefined {
    if (!decompressor.responseEnabled) return undefined;
    const encoding = headerText(headers['content-encoding']);
    if (noBody || !decodes(encoding, decompressor.library.encoding) || (!decompressor.responseIgnoreNoTransform && hasToken(headers['cache-control'], 'no-transform'))) {
      stats.notDecompressed.inc();
      return undefined;
    }
    const rest = remainingEncodings(encoding!);
    if (rest === undefined) delete headers['content-encoding'];
    else headers['content-encoding'] = rest;
    delete headers['content-length'];
    stats.decompressed.inc();
    return createDecoder(decompressor.library, stats);
  }

  private acceptsEncoding(config: CompressorConfig, stats: CompressorStats): boolean {
    if (this.acceptEncoding === undefined) {
      stats.noAcceptHeader.inc();
      return false;
    }
    const registered = this.entries.map((e) => e.config.library.encoding);
    const decision = chooseEncoding(this.acceptEncoding, registered, () => stats.headerNotValid.inc());
    const mine = decision.encoding === config.library.encoding;
    switch (decision.stat) {
      case 'compressor':
        (mine ? stats.headerCompressorUsed : stats.headerCompressorOvershadowed).inc();
        break;
      case 'identity':
        stats.headerIdentity.inc();
        break;
      case 'wildcard':
        stats.headerWildcard.inc();
        break;
      case 'not_valid':
        stats.headerNotValid.inc();
        break;
    }
    return mine;
  }
}

function ignoreError(): void {}

function headerText(value: string | string[] | number | undefined): string | undefined {
  if (value === undefined) return undefined;
  return Array.isArray(value) ? value.join(',') : String(value);
}

function hasToken(value: string | string[] | number | undefined, token: string): boolean {
  const text = headerText(value);
  if (text === undefined) return false;
  return text.split(',').some((t) => t.trim().toLowerCase() === token);
}

function minimumLength(headers: ResponseHeaderRecord, config: CompressorConfig, stats: CompressorStats): boolean {
  const text = headerText(headers['content-length']);
  if (text === undefined) return true;
  const ok = /^\d+$/.test(text.trim()) && Number(text) >= config.minContentLength;
  if (!ok) stats.contentLengthTooSmall.inc();
  return ok;
}

function contentTypeAllowed(headers: ResponseHeaderRecord, config: CompressorConfig): boolean {
  const text = headerText(headers['content-type']);
  if (text === undefined || text === '' || config.contentTypes.size === 0) return true;
  const semi = text.indexOf(';');
  return config.contentTypes.has((semi < 0 ? text : text.slice(0, semi)).trim().toLowerCase());
}

function etagAllowed(headers: ResponseHeaderRecord, config: CompressorConfig, stats: CompressorStats): boolean {
  if (!config.disableOnEtagHeader || headers.etag === undefined) return true;
  stats.notCompressedEtag.inc();
  return false;
}

/** A strong ETag no longer names the bytes sent: it becomes weak (`W/`), as Envoy's sanitizeEtagHeader. */
function weakenEtag(headers: ResponseHeaderRecord): void {
  const etag = headerText(headers.etag);
  if (etag === undefined || etag.length <= 2 || /^w\//i.test(etag)) return;
  headers.etag = `W/${etag}`;
}

function addVary(headers: ResponseHeaderRecord): void {
  const vary = headerText(headers.vary);
  if (vary === undefined || vary.trim() === '') headers.vary = 'Accept-Encoding';
  else if (!hasToken(vary, 'accept-encoding') && !hasToken(vary, '*')) headers.vary = `${vary}, Accept-Encoding`;
}

const GZIP_STRATEGY: Readonly<Record<string, number>> = {
  DEFAULT_STRATEGY: zlib.constants.Z_DEFAULT_STRATEGY,
  FILTERED: zlib.constants.Z_FILTERED,
  HUFFMAN_ONLY: zlib.constants.Z_HUFFMAN_ONLY,
  RLE: zlib.constants.Z_RLE,
  FIXED: zlib.constants.Z_FIXED,
};

const BROTLI_MODE: Readonly<Record<string, number>> = {
  DEFAULT: zlib.constants.BROTLI_MODE_GENERIC,
  GENERIC: zlib.constants.BROTLI_MODE_GENERIC,
  TEXT: zlib.constants.BROTLI_MODE_TEXT,
  FONT: zlib.constants.BROTLI_MODE_FONT,
};

type ZstdZlib = typeof zlib & { createZstdCompress?(options: { flush?: number; chunkSize?: number; params?: Record<number, number> }): Transform };

/** The library's streaming encoder, flushing after each chunk written; its byte counts go to `stats` when it ends. */
export function createEncoder(library: CompressorLibrary, stats: CompressorStats): Transform {
  let encoder: Transform;
  switch (library.encoding) {
    case 'gzip':
      encoder = zlib.createGzip({
        level: library.level, memLevel: library.memoryLevel, windowBits: library.windowBits, strategy: GZIP_STRATEGY[library.strategy],
        chunkSize: library.chunkSize, flush: zlib.constants.Z_SYNC_FLUSH,
      });
      break;
    case 'br':
      encoder = zlib.createBrotliCompress({
        chunkSize: library.chunkSize,
        flush: zlib.constants.BROTLI_OPERATION_FLUSH,
        params: {
          [zlib.constants.BROTLI_PARAM_QUALITY]: library.quality,
          [zlib.constants.BROTLI_PARAM_LGWIN]: library.windowBits,
          [zlib.constants.BROTLI_PARAM_LGBLOCK]: library.inputBlockBits,
          [zlib.constants.BROTLI_PARAM_MODE]: BROTLI_MODE[library.encoderMode]!,
          [zlib.constants.BROTLI_PARAM_DISABLE_LITERAL_CONTEXT_MODELING]: library.disableLiteralContextModeling ? 1 : 0,
        },
      });
      break;
    case 'zstd': {
      const z = zlib as ZstdZlib;
      const c = zlib.constants as unknown as Record<string, number>;
      const params: Record<number, number> = { [c.ZSTD_c_compressionLevel!]: library.level, [c.ZSTD_c_checksumFlag!]: library.enableChecksum ? 1 : 0 };
      if (library.strategy > 0) params[c.ZSTD_c_strategy!] = library.strategy;
      // The decoder refuses zstd on a Node.js without it, so this exists here.
      encoder = z.createZstdCompress!({ chunkSize: library.chunkSize, flush: c.ZSTD_e_flush, params });
      break;
    }
  }
  let compressed = 0;
  encoder.on('data', (chunk: Buffer) => {
    compressed += chunk.length;
  });
  encoder.once('end', () => {
    stats.totalCompressedBytes.inc(compressed);
    stats.totalUncompressedBytes.inc((encoder as Transform & { bytesWritten?: number }).bytesWritten ?? 0);
  });
  return encoder;
}

/** True when the first of a Content-Encoding list is `encoding` (Envoy's decompressor looks at the first only). */
export function decodes(contentEncoding: string | undefined, encoding: string): boolean {
  if (contentEncoding === undefined) return false;
  const comma = contentEncoding.indexOf(',');
  return (comma < 0 ? contentEncoding : contentEncoding.slice(0, comma)).trim().toLowerCase() === encoding;
}

/** The Content-Encoding left once its first coding is undone; undefined when it was the only one. */
export function remainingEncodings(contentEncoding: string): string | undefined {
  const comma = contentEncoding.indexOf(',');
  if (comma < 0) return undefined;
  const rest = contentEncoding.slice(comma + 1).trim();
  return rest === '' ? undefined : rest;
}

type ZstdDecoderZlib = typeof zlib & { createZstdDecompress?(options: { chunkSize?: number }): Transform };

/**
 * The library's streaming decoder. Its output is bounded by `maxInflateRatio` bytes per input byte: a
 * decompression bomb (or a corrupt stream) ends it with an error (XMESH_PROTOCOL), never with memory
 * growing; nothing is buffered beyond zlib's chunk. Byte counts go to `stats` when it ends.
 */
export function createDecoder(library: DecompressorLibrary, stats: DecompressorStats): Transform {
  let decoder: Transform;
  switch (library.encoding) {
    case 'gzip':
      decoder = zlib.createGunzip({ chunkSize: library.chunkSize, ...(library.windowBits === undefined ? {} : { windowBits: library.windowBits }) });
      break;
    case 'br':
      decoder = zlib.createBrotliDecompress({ chunkSize: library.chunkSize });
      break;
    case 'zstd':
      // The decoder refuses zstd on a Node.js without it, so this exists here.
      decoder = (zlib as ZstdDecoderZlib).createZstdDecompress!({ chunkSize: library.chunkSize });
      break;
  }
  const engine = decoder as Transform & { bytesWritten?: number };
  let output = 0;
  // The bound sits after the decoder (counting what it hands on, never consuming it before the reader).
  const bound = new Transform({
    transform(chunk: Buffer, _encoding, done) {
      output += chunk.length;
      const input = Math.max(engine.bytesWritten ?? 0, 1);
      if (output > input * library.maxInflateRatio) {
        done(new MeshError('XMESH_PROTOCOL', `the ${library.encoding} body inflates more than ${library.maxInflateRatio} times (max_inflate_ratio): not decompressed further`, { httpStatus: 400 }));
        return;
      }
      done(null, chunk);
    },
    flush(done) {
      stats.totalCompressedBytes.inc(engine.bytesWritten ?? 0);
      stats.totalUncompressedBytes.inc(output);
      done();
    },
  });
  pipeline(decoder, bound, ignoreError);
  return Duplex.from({ writable: decoder, readable: bound }) as Transform;
}

/** A decoder's (or encoder's) stream error as the MeshError the call ends with. */
export function decodeError(error: Error): MeshError {
  if (error instanceof MeshError) return error;
  return new MeshError('XMESH_PROTOCOL', `the body cannot be decompressed: ${error.message}`, { cause: error, httpStatus: 400 });
}
