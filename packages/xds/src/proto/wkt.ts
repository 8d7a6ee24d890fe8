/** Proto3 JSON forms of the well-known types that are strings: Duration, Timestamp. */

export type JsonValue = null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue };

/** Wrapper message full name → the proto scalar type of its `value` field. */
export const WRAPPER_TYPES: Readonly<Record<string, string>> = {
  '.google.protobuf.DoubleValue': 'double',
  '.google.protobuf.FloatValue': 'float',
  '.google.protobuf.Int64Value': 'int64',
  '.google.protobuf.UInt64Value': 'uint64',
  '.google.protobuf.Int32Value': 'int32',
  '.google.protobuf.UInt32Value': 'uint32',
  '.google.protobuf.BoolValue': 'bool',
  '.google.protobuf.StringValue': 'string',
  '.google.protobuf.BytesValue': 'bytes',
};

/** A protobufjs 64-bit value (Long or number) or absent → number. */
export function toNumber(value: unknown): number {
  if (value === undefined || value === null) return 0;
  if (typeof value === 'number') return value;
  const long = value as { toNumber?: () => number };
  return typeof long.toNumber === 'function' ? long.toNumber() : Number(value);
}

/** Nanoseconds as proto3 JSON writes them: 0, 3, 6 or 9 fractional digits. */
function fraction(nanos: number): string {
  if (nanos === 0) return '';
  if (nanos % 1_000_000 === 0) return `.${String(nanos / 1_000_000).padStart(3, '0')}`;
  if (nanos % 1_000 === 0) return `.${String(nanos / 1_000).padStart(6, '0')}`;
  return `.${String(nanos).padStart(9, '0')}`;
}

/** `{seconds: 1, nanos: 500000000}` → `"1.500s"`; negative durations carry one leading `-`. */
export function formatDuration(seconds: number, nanos: number): string {
  const negative = seconds < 0 || nanos < 0;
  return `${negative ? '-' : ''}${Math.abs(seconds)}${fraction(Math.abs(nanos))}s`;
}

const DURATION_RE = /^(-)?(\d+)(?:\.(\d{1,9}))?s$/;
const MAX_DURATION_SECONDS = 315_576_000_000;

/** `"1.5s"` → `{seconds, nanos}` (seconds as a decimal string), or an error message. */
export function parseDuration(text: string): { seconds: string; nanos: number } | string {
  const m = DURATION_RE.exec(text);
  if (!m) return `must be a duration like "1.5s", got ${JSON.stringify(text)}`;
  const seconds = Number(m[2]);
  if (seconds > MAX_DURATION_SECONDS) return `duration ${text} is out of range`;
  const nanos = m[3] === undefined ? 0 : Number(m[3].padEnd(9, '0'));
  const sign = m[1] === '-' ? -1 : 1;
  return { seconds: String(sign * seconds === 0 ? 0 : sign * seconds), nanos: nanos === 0 ? 0 : sign * nanos };
}

/** RFC 3339 in UTC (`Z`), with 0, 3, 6 or 9 fractional digits. */
export function formatTimestamp(seconds: number, nanos: number): string {
  const iso = new Date(seconds * 1000).toISOString(); // yyyy-mm-ddThh:mm:ss.sssZ
  return `${iso.slice(0, 19)}${fraction(nanos)}Z`;
}

const TIMESTAMP_RE = /^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})(?:\.(\d{1,9}))?(Z|[+-]\d{2}:\d{2})$/;

export function parseTimestamp(text: string): { seconds: string; nanos: number } | string {
  const m = TIMESTAMP_RE.exec(text);
  const ms = m ? Date.parse(`${m[1]}${m[3]}`) : NaN;
  if (!m || Number.isNaN(ms)) return `must be an RFC 3339 timestamp, got ${JSON.stringify(text)}`;
  return { seconds: String(ms / 1000), nanos: m[2] === undefined ? 0 : Number(m[2].padEnd(9, '0')) };
}
