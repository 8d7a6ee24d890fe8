/** Field-group helpers over a Reader: proto `oneof` groups, unsupported and ignored fields, Any types. */
import { describe, type Reader } from './reader.js';

/**
 * The member of the oneof group `members` that is set in `r`, or undefined when none is.
 * Two or more set: an error at `r`'s path naming them, and the first one set is returned.
 * When `required` is given and none is set, an error `required` is recorded at `r`'s path.
 * Only presence is checked: the caller still reads the returned member's value.
 */
export function oneOf<K extends string>(r: Reader, members: readonly K[], required?: string): K | undefined {
  const set = members.filter((m) => r.has(m));
  const where = r.path === '' ? '(root)' : r.path;
  if (set.length > 1) {
    r.issues.error(where, `only one of ${members.join(', ')} may be set, got ${set.join(' and ')}`);
  } else if (set.length === 0 && required !== undefined) {
    r.issues.error(where, required);
  }
  return set[0];
}

/** Reports each member of `unsupported` that is set as an error, and marks it read. */
export function rejectUnsupported(r: Reader, unsupported: Readonly<Record<string, string>>): void {
  for (const [key, why] of Object.entries(unsupported)) {
    if (r.has(key)) {
      r.get(key);
      r.error(key, `is not supported: ${why}`);
    }
  }
}

/** Records `keys` as knowingly ignored; the reasons live with the caller's constant. */
export function ignoreAll(r: Reader, fields: Readonly<Record<string, string>>): void {
  r.ignore(...Object.keys(fields));
}

/** An Any's `@type` for messages: quoted in full when a string (type URLs are long), else described. */
export function describeType(type: unknown): string {
  return typeof type === 'string' ? JSON.stringify(type) : describe(type);
}
