/**
 * `*_headers_to_add` / `*_headers_to_remove` applied as Envoy's HeaderParser::evaluateHeaders does,
 * one level at a time: removals first, then every value is computed against the headers as they are
 * (so ADD_IF_ABSENT and OVERWRITE_IF_EXISTS look at them before this level's additions), then the
 * overwrites, then the appends. Front ends keep headers in different shapes; a HeaderWriter adapts
 * each one (plain records here; grpc-js Metadata in @xmesh/client).
 */
import { hostname } from 'node:os';
import type { HeaderMutation, HeaderToAdd, HeaderValuePart } from '@xmesh/xds';
import type { RouteRequest } from './types.js';

/** Read-write access to a header list. Names are lower-case. */
export interface HeaderWriter {
  /** The first value of `name`, or undefined when absent. */
  get(name: string): string | undefined;
  /** Replaces every value of `name` with `value`. */
  set(name: string, value: string): void;
  /** Adds `value` after the existing values of `name`. */
  append(name: string, value: string): void;
  remove(name: string): void;
}

/** A HeaderWriter over a record of lower-case names (undici's headers, node's IncomingHttpHeaders). */
export class RecordHeaders implements HeaderWriter {
  constructor(readonly record: Record<string, string | string[] | number | undefined>) {}

  get(name: string): string | undefined {
    const value = this.record[name];
    if (value === undefined) return undefined;
    return Array.isArray(value) ? value[0] : String(value);
  }

  set(name: string, value: string): void {
    this.record[name] = value;
  }

  append(name: string, value: string): void {
    const prior = this.record[name];
    if (prior === undefined) this.record[name] = value;
    else if (Array.isArray(prior)) prior.push(value);
    else this.record[name] = [String(prior), value];
  }

  remove(name: string): void {
    delete this.record[name];
  }
}

/** Where `%REQ(...)%` and `%RESP(...)%` read: request-side mutations read the request being built, response-side ones the original request and the response. */
export interface FormatContext {
  readonly request: { get(name: string): string | undefined };
  readonly response: { get(name: string): string | undefined } | undefined;
}

let cachedHostname: string | undefined;

/** One level's mutation, ready to apply. */
export class HeaderMutator {
  private readonly add: readonly HeaderToAdd[];
  private readonly remove: readonly string[];

  constructor(mutation: HeaderMutation) {
    this.add = mutation.add;
    this.remove = mutation.remove;
  }

  apply(target: HeaderWriter, context: FormatContext): void {
    for (const name of this.remove) target.remove(name);
    if (this.add.length === 0) return;
    // Values and conditions are computed before anything is added, as Envoy does.
    const overwrite: [string, string][] = [];
    const append: [string, string][] = [];
    for (const entry of this.add) {
      const value = formatValue(entry.format, context);
      if (value === '' && !entry.keepEmptyValue) continue;
      switch (entry.appendAction) {
        case 'APPEND_IF_EXISTS_OR_ADD':
          append.push([entry.name, value]);
          break;
        case 'ADD_IF_ABSENT':
          if (target.get(entry.name) === undefined) append.push([entry.name, value]);
          break;
        case 'OVERWRITE_IF_EXISTS':
          if (target.get(entry.name) !== undefined) overwrite.push([entry.name, value]);
          break;
        case 'OVERWRITE_IF_EXISTS_OR_ADD':
          overwrite.push([entry.name, value]);
          break;
      }
    }
    for (const [name, value] of overwrite) target.set(name, value);
    for (const [name, value] of append) target.append(name, value);
  }
}

function formatValue(format: readonly HeaderValuePart[], context: FormatContext): string {
  if (format.length === 1 && format[0]!.kind === 'text') return format[0]!.text;
  let out = '';
  for (const part of format) {
    switch (part.kind) {
      case 'text':
        out += part.text;
        break;
      case 'request_header':
        out += firstOf(context.request, part.names, part.maxLength);
        break;
      case 'response_header':
        out += context.response === undefined ? '' : firstOf(context.response, part.names, part.maxLength);
        break;
      case 'hostname':
        out += (cachedHostname ??= hostname());
        break;
    }
  }
  return out;
}

function firstOf(headers: { get(name: string): string | undefined }, names: readonly string[], maxLength: number | undefined): string {
  for (const name of names) {
    const value = headers.get(name);
    if (value !== undefined) return maxLength === undefined ? value : value.slice(0, maxLength);
  }
  return '';
}

/** The request's fields `%REQ(...)%` reads besides its headers. */
export type RequestFields = Pick<RouteRequest, 'authority' | 'path' | 'method' | 'headers'>;

/** Pseudo-headers of the request as the caller sent it; other names from `headers`. */
export function requestReader(headers: { get(name: string): string | undefined }, request: RequestFields): { get(name: string): string | undefined } {
  return {
    get(name) {
      if (name.charCodeAt(0) !== 58 /* ':' */) return headers.get(name);
      switch (name) {
        case ':authority': return request.authority;
        case ':path': return request.path;
        case ':method': return request.method;
        default: return request.headers.get(name);
      }
    },
  };
}
