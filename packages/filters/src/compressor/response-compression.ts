/**
 * Envoy's compressor filter, response direction (source/extensions/filters/http/common/compressor): which
 * encoding the client's Accept-Encoding picks among the compressor filters of the chain, whether a
 * response may be compressed, the header edits when it is, and the streaming encoder (each chunk the
 * upstream sends is compressed and flushed, as Envoy flushes at the end of each data frame; nothing is
 * buffered beyond zlib's window).
 */
import * as zlib from 'node:zlib';
import type { Transform } from 'node:stream';
import type { Counter } from '@xmesh/stats';
import type { CompressorConfig, CompressorLibrary } from '@xmesh/xds';

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

/**
 * The compressor filters that ran for one call, and the client's Accept-Encoding as it came (before a
 * filter removed it from the upstream request). The front end asks it, once the response headers are
 * known, for an encoder.
 */
export class ResponseCompression {
  private readonly entries: Entry[] = [];

  constructor(private readonly acceptEncoding: string | undefined, private readonly method: string) {}

  /** A compressor filter of the chain (in chain order). */
  add(config: CompressorConfig, stats: CompressorStats): void {
    if (config.chooseFirst) this.entries.unshift({ config, stats });
    else this.entries.push({ config, stats });
  }

  /**
   * Decides for a response (`headers` with `:status`), edits `headers` in place (Content-Encoding, Vary,
   * ETag, Content-Length) and returns the encoder the body goes through, or undefined to send it as it is.
   * `endStream`: the response has no body.
   */
  begin(headers: ResponseHeaderRecord, endStream: boolean): Transform | undefined {
    const status = Number(headers[':status']);
    const noBody = endStream || this.method === 'HEAD' || status === 204 || status === 304 || status < 200;
    let encoder: Transform | undefined;
    // Envoy's encoder filters run in reverse chain order; the first to compress sets Content-Encoding.
    for (let i = this.entries.length - 1; i >= 0; i--) {
      const { config, stats } = this.entries[i]!;
      const compressible = config.responseEnabled && minimumLength(headers, config, stats) && !config.uncompressibleResponseCodes.has(status) &&
        contentTypeAllowed(headers, config) && !hasToken(headers['cache-control'], 'no-transform') && etagAllowed(headers, config, stats) &&
        headers['content-encoding'] === undefined && !hasToken(headers['transfer-encoding'], config.library.encoding);
      if (compressible && !noBody && this.acceptsEncoding(config, stats)) {
        weakenEtag(headers);
        delete headers['content-length'];
        headers['content-encoding'] = config.library.encoding;
        addVary(headers);
        stats.compressed.inc();
        encoder = createEncoder(config.library, stats);
        continue;
      }
      if (compressible) addVary(headers);
      stats.notCompressed.inc();
    }
    return encoder;
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
