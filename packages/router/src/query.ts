/**
 * Finds the first value of `name` in a raw query string (`a=1&b=2`, no leading `?`), exactly as sent:
 * like Envoy's route matching (`parseQueryString`, not `parseAndDecodeQueryString`), neither names
 * nor values are percent-decoded. A parameter given without `=` has the empty value. Returns
 * undefined when absent. Scans in place: no map of parameters is built per request.
 */
export function queryParameter(query: string, name: string): string | undefined {
  // A parameter name ends at its first "=", so a name holding "=" or "&" is never present.
  if (name.includes('=') || name.includes('&')) return undefined;
  let start = 0;
  while (start <= query.length) {
    let end = query.indexOf('&', start);
    if (end < 0) end = query.length;
    // Only this segment is looked at (no search past `end`), so a scan stays linear in the query length.
    const nameEnd = start + name.length;
    if (end > start && nameEnd <= end && query.startsWith(name, start)) {
      if (nameEnd === end) return '';
      if (query.charCodeAt(nameEnd) === 61 /* = */) return query.slice(nameEnd + 1, end);
    }
    start = end + 1;
  }
  return undefined;
}
