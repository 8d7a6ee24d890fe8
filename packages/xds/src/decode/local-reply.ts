/**
 * HCM `local_reply_config` (envoy.extensions.filters.network.http_connection_manager.v3.LocalReplyConfig):
 * `mappers[]` with `filter` (`status_code_filter`, `header_filter`, `and_filter`, `or_filter`,
 * `not_health_check_filter`), `status_code`, `body` (inline), `headers_to_add` and
 * `body_format_override`, and `body_format`; body formats are text formats with the command operators
 * `%LOCAL_REPLY_BODY%`, `%RESPONSE_CODE%` and `%REQ(...)%`. What xmesh does not implement is refused
 * with its path, since it would change the reply the caller sees: JSON formats, other operators,
 * formatter extensions, the other filter kinds, a body read from a file.
 */
import type { BodyFormat, BodyFormatPart, LocalReplyConfig, LocalReplyFilter, LocalReplyMapper } from '../model.js';
import { oneOf, rejectUnsupported } from './fields.js';
import { readHeaderToAdd } from './header-mutation.js';
import { readHeaderMatcher } from './matchers.js';
import type { Reader } from './reader.js';

const UNSUPPORTED_FILTERS: Readonly<Record<string, string>> = {
  duration_filter: 'local replies are matched by status_code_filter, header_filter, and_filter, or_filter or not_health_check_filter',
  traceable_filter: 'local replies are matched by status_code_filter, header_filter, and_filter, or_filter or not_health_check_filter',
  runtime_filter: 'there is no runtime layer to sample with',
  response_flag_filter: 'response flags are not kept; match the status with status_code_filter',
  grpc_status_filter: 'local replies are matched by status_code_filter, header_filter, and_filter, or_filter or not_health_check_filter',
  extension_filter: 'filter extensions are not implemented',
  metadata_filter: 'dynamic metadata is not kept',
  log_type_filter: 'local replies are matched by status_code_filter, header_filter, and_filter, or_filter or not_health_check_filter',
};
const FILTER_KINDS = ['status_code_filter', 'header_filter', 'and_filter', 'or_filter', 'not_health_check_filter', ...Object.keys(UNSUPPORTED_FILTERS)];
const OPS = { 0: 'EQ', 1: 'GE', 2: 'LE' } as const;
/** Nesting of and/or filters read at most (a bound on what a config can make us recurse into). */
const MAX_FILTER_DEPTH = 16;

export function decodeLocalReplyConfig(r: Reader): LocalReplyConfig {
  const mappers = r.objects('mappers').map(readMapper);
  const f = r.obj('body_format');
  const bodyFormat = f ? readBodyFormat(f) : undefined;
  r.finish();
  return bodyFormat === undefined ? { mappers } : { mappers, bodyFormat };
}

function readMapper(m: Reader): LocalReplyMapper {
  const f = m.obj('filter');
  if (!f) m.error('filter', 'is required');
  const filter = f ? readFilter(f, 0) : ALWAYS;
  const statusCode = m.has('status_code') ? m.int('status_code', 0, 200, 599, 'an HTTP status in [200, 599]') : undefined;
  const b = m.obj('body');
  const body = b ? readInlineBody(b) : undefined;
  const headersToAdd = m.objects('headers_to_add').map(readHeaderToAdd);
  if (headersToAdd.length > 1000) m.error('headers_to_add', 'must have at most 1000 entries');
  const override = m.obj('body_format_override');
  const bodyFormat = override ? readBodyFormat(override) : undefined;
  m.finish();
  return {
    filter,
    ...(statusCode === undefined ? {} : { statusCode }),
    ...(body === undefined ? {} : { body }),
    ...(headersToAdd.length === 0 ? {} : { headersToAdd: { add: headersToAdd, remove: [] } }),
    ...(bodyFormat === undefined ? {} : { bodyFormat }),
  };
}

const ALWAYS: LocalReplyFilter = { kind: 'not_health_check' };

function readFilter(f: Reader, depth: number): LocalReplyFilter {
  oneOf(f, FILTER_KINDS, 'needs one filter: status_code_filter, header_filter, and_filter, or_filter or not_health_check_filter');
  rejectUnsupported(f, UNSUPPORTED_FILTERS);
  let filter: LocalReplyFilter = ALWAYS;
  const status = f.obj('status_code_filter');
  if (status) {
    const comparison = status.obj('comparison');
    if (!comparison) status.error('comparison', 'is required');
    const op = comparison?.enumOf('op', Object.values(OPS), 'EQ', OPS) ?? 'EQ';
    const v = comparison?.obj('value');
    if (comparison && !v) comparison.error('value', 'is required');
    const value = v?.int('default_value', 0, 0, 599, 'an HTTP status') ?? 0;
    v?.ignore('runtime_key');
    v?.finish();
    comparison?.finish();
    status.finish();
    filter = { kind: 'status_code', op, value };
  }
  const header = f.obj('header_filter');
  if (header) {
    const h = header.obj('header');
    if (!h) header.error('header', 'is required');
    if (h) filter = { kind: 'header', header: readHeaderMatcher(h) };
    header.finish();
  }
  for (const kind of ['and', 'or'] as const) {
    const group = f.obj(`${kind}_filter`);
    if (!group) continue;
    if (depth >= MAX_FILTER_DEPTH) {
      f.error(`${kind}_filter`, `nests filters deeper than ${MAX_FILTER_DEPTH}`);
      continue;
    }
    const filters = group.objects('filters').map((child) => readFilter(child, depth + 1));
    if (filters.length < 2) group.error('filters', 'must have at least 2 filters');
    group.finish();
    filter = { kind, filters };
  }
  const notHealthCheck = f.obj('not_health_check_filter');
  notHealthCheck?.finish();
  f.finish();
  return filter;
}

/** A body given inline (`inline_string`, or `inline_bytes` as UTF-8); a file or environment variable is refused. */
function readInlineBody(b: Reader): string | undefined {
  rejectUnsupported(b, {
    filename: 'a local reply body is given inline (inline_string): the config is read without file access',
    environment_variable: 'a local reply body is given inline (inline_string)',
  });
  const text = b.str('inline_string');
  const bytes = b.str('inline_bytes');
  b.finish();
  if (text !== undefined) return text;
  return bytes === undefined ? undefined : Buffer.from(bytes, 'base64').toString('utf8');
}

/** A text SubstitutionFormatString; JSON formats and formatter extensions are refused. */
function readBodyFormat(f: Reader): BodyFormat | undefined {
  rejectUnsupported(f, {
    json_format: 'JSON body formats are not implemented: use text_format',
    formatters: 'formatter extensions are not implemented',
  });
  oneOf(f, ['text_format', 'text_format_source', 'json_format'], 'needs text_format or text_format_source');
  let text = f.str('text_format');
  const source = f.obj('text_format_source');
  if (source) text = readInlineBody(source);
  const contentType = f.str('content_type');
  f.ignore('omit_empty_values');
  f.finish();
  if (text === undefined) return undefined;
  const at = source ? `${source.path}.inline_string` : f.at('text_format');
  const parts = parseBodyFormat(text, (message) => f.issues.error(at, message));
  return contentType === undefined || contentType === '' ? { parts } : { parts, contentType };
}

const COMMAND_RE = /^([A-Z_][A-Z0-9_]*)(?:\(([^)]*)\))?(?::(\d+))?$/;
const OPERATORS = '%LOCAL_REPLY_BODY%, %RESPONSE_CODE%, %REQ(name)% and %% for a literal %';

/** Text and command operators; an operator xmesh does not implement is reported through `error`. */
function parseBodyFormat(text: string, error: (message: string) => void): BodyFormatPart[] {
  const parts: BodyFormatPart[] = [];
  let literal = '';
  let i = 0;
  while (i < text.length) {
    const c = text[i]!;
    if (c !== '%') {
      literal += c;
      i++;
      continue;
    }
    if (text[i + 1] === '%') {
      literal += '%';
      i += 2;
      continue;
    }
    const end = text.indexOf('%', i + 1);
    const m = end < 0 ? null : COMMAND_RE.exec(text.slice(i + 1, end));
    const part = m === null ? undefined : operator(m[1]!, m[2], m[3]);
    if (part === undefined) {
      error(`uses ${end < 0 ? 'an unescaped "%"' : JSON.stringify(text.slice(i, end + 1))}: body formats implement ${OPERATORS}`);
      return parts;
    }
    if (literal !== '') parts.push({ kind: 'text', text: literal });
    literal = '';
    parts.push(part);
    i = end + 1;
  }
  if (literal !== '') parts.push({ kind: 'text', text: literal });
  return parts;
}

function operator(name: string, args: string | undefined, length: string | undefined): BodyFormatPart | undefined {
  switch (name) {
    case 'LOCAL_REPLY_BODY':
      return args === undefined ? { kind: 'local_reply_body' } : undefined;
    case 'RESPONSE_CODE':
      return args === undefined ? { kind: 'response_code' } : undefined;
    case 'REQ': {
      const names = (args ?? '').split('?').map((n) => n.trim().toLowerCase());
      if (names.length > 2 || names.some((n) => n === '')) return undefined;
      return { kind: 'request_header', names, maxLength: length === undefined ? undefined : Number(length) };
    }
    default:
      return undefined;
  }
}
