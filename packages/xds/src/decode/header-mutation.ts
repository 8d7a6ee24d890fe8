/**
 * `request_headers_to_add` / `_to_remove` and `response_headers_to_add` / `_to_remove` of a route
 * configuration, virtual host, route or weighted cluster, with Envoy's rules (HeaderParser in
 * source/common/router/header_parser.cc): pseudo-headers and `host` may be neither added nor removed;
 * `append` (deprecated, default true) and `append_action` exclude each other; values use Envoy's
 * substitution format, of which xmesh implements `%%`, `%REQ(...)%`, `%RESP(...)%` and `%HOSTNAME%`.
 */
import type { HeaderAppendAction, HeaderMutation, HeaderToAdd, HeaderValuePart } from '../model.js';
import { describe, type Reader } from './reader.js';

const APPEND_ACTIONS = {
  0: 'APPEND_IF_EXISTS_OR_ADD',
  1: 'ADD_IF_ABSENT',
  2: 'OVERWRITE_IF_EXISTS_OR_ADD',
  3: 'OVERWRITE_IF_EXISTS',
} as const satisfies Readonly<Record<number, HeaderAppendAction>>;

/** The request or response mutation of `r` (fields `<side>_headers_to_add` / `_to_remove`); undefined when neither is set. */
export function headerMutationFields(r: Reader, side: 'request' | 'response'): HeaderMutation | undefined {
  const addKey = `${side}_headers_to_add`;
  const removeKey = `${side}_headers_to_remove`;
  if (!r.has(addKey) && !r.has(removeKey)) {
    r.get(addKey);
    r.get(removeKey);
    return undefined;
  }
  const add = r.objects(addKey).map(readHeaderToAdd);
  const remove: string[] = [];
  r.strings(removeKey).forEach((name, i) => {
    const problem = unmodifiable(name);
    if (problem) r.issues.error(`${r.at(removeKey)}[${i}]`, `${problem} may not be removed`);
    else remove.push(name.toLowerCase());
  });
  return { add, remove };
}

/** A list of HeaderValueOption under another name (a gRPC health check's `initial_metadata`), as a mutation that only adds. */
export function headersToAddField(r: Reader, key: string): HeaderMutation | undefined {
  if (!r.has(key)) {
    r.get(key);
    return undefined;
  }
  return { add: r.objects(key).map(readHeaderToAdd), remove: [] };
}

/** One `HeaderValueOption` of a `*_headers_to_add` list. */
export function readHeaderToAdd(o: Reader): HeaderToAdd {
  const h = o.obj('header');
  if (!h) o.error('header', 'is required');
  const name = h ? h.requiredStr('key').toLowerCase() : '';
  const problem = name === '' ? undefined : unmodifiable(name);
  if (h && problem) h.error('key', `${problem} may not be modified`);
  const value = h?.str('value') ?? '';
  rejectRawValue(h);
  h?.finish();
  const format = h ? parseHeaderValueFormat(h, value) : [];

  let appendAction: HeaderAppendAction = 'APPEND_IF_EXISTS_OR_ADD';
  if (o.has('append') && o.has('append_action')) {
    o.error('append_action', 'cannot be set together with the deprecated "append"');
  }
  if (o.has('append')) {
    appendAction = o.bool('append', true) ? 'APPEND_IF_EXISTS_OR_ADD' : 'OVERWRITE_IF_EXISTS_OR_ADD';
  }
  if (o.has('append_action')) {
    appendAction = o.enumOf('append_action', Object.values(APPEND_ACTIONS), 'APPEND_IF_EXISTS_OR_ADD', APPEND_ACTIONS);
  }
  o.get('append');
  o.get('append_action');
  const keepEmptyValue = o.bool('keep_empty_value', false);
  o.finish();
  return { name, value, format, appendAction, keepEmptyValue };
}

/** `raw_value` (bytes) is another way to give the value; only `value` is read. */
function rejectRawValue(h: Reader | undefined): void {
  if (h?.has('raw_value')) {
    h.get('raw_value');
    h.error('raw_value', 'is not supported: give the value as "value"');
  }
}

/** Why Envoy refuses to touch this header (Http::HeaderUtility::isModifiableHeader), or undefined. */
function unmodifiable(name: string): string | undefined {
  if (name.startsWith(':')) return `the pseudo-header "${name}"`;
  if (name.toLowerCase() === 'host') return '"host"';
  return undefined;
}

const COMMAND_RE = /^([A-Z_][A-Z0-9_]*)(?:\(([^)]*)\))?(?::(\d+))?$/;
const SUPPORTED = '%REQ(name)%, %RESP(name)%, %HOSTNAME%, and %% for a literal %';

/**
 * Splits a header value into text and substitution commands. An unknown or unimplemented command,
 * or a `%` that opens nothing, is reported at `h.value`.
 */
export function parseHeaderValueFormat(h: Reader, value: string): HeaderValuePart[] {
  const parts: HeaderValuePart[] = [];
  let text = '';
  let i = 0;
  while (i < value.length) {
    const c = value[i]!;
    if (c !== '%') {
      text += c;
      i++;
      continue;
    }
    if (value[i + 1] === '%') {
      text += '%';
      i += 2;
      continue;
    }
    const end = value.indexOf('%', i + 1);
    if (end < 0) {
      h.error('value', `has an unescaped "%" at position ${i} (write "%%" for a literal "%")`);
      return parts;
    }
    const command = value.slice(i + 1, end);
    const part = readCommand(command);
    if (typeof part === 'string') {
      h.error('value', part);
      return parts;
    }
    if (text !== '') parts.push({ kind: 'text', text });
    text = '';
    parts.push(part);
    i = end + 1;
  }
  if (text !== '' || parts.length === 0) parts.push({ kind: 'text', text });
  return parts;
}

/** The part for `NAME(args):n`, or why it cannot be used. */
function readCommand(command: string): HeaderValuePart | string {
  const m = COMMAND_RE.exec(command);
  if (!m) return `has an invalid substitution command ${describe(`%${command}%`)} (xmesh implements ${SUPPORTED})`;
  const [, name, args, length] = m;
  const maxLength = length === undefined ? undefined : Number(length);
  switch (name) {
    case 'REQ':
    case 'RESP': {
      if (args === undefined || args.trim() === '') return `%${name}(...)% needs a header name`;
      const names = args.split('?').map((n) => n.trim().toLowerCase());
      if (names.length > 2 || names.some((n) => n === '')) return `%${name}(${args})% takes one header name, or two as "main?alternative"`;
      return { kind: name === 'REQ' ? 'request_header' : 'response_header', names, maxLength };
    }
    case 'HOSTNAME':
      if (args !== undefined || maxLength !== undefined) return '%HOSTNAME% takes no arguments';
      return { kind: 'hostname' };
    default:
      return `uses the substitution command %${name}%, which xmesh does not implement (it implements ${SUPPORTED})`;
  }
}
