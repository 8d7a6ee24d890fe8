/**
 * Freezes an object graph in place and returns it. Snapshots are immutable all the way down.
 * An object that is frozen already is taken as frozen all the way down and not walked: decoders freeze large
 * subtrees (endpoint lists) as they build them, so each is walked once.
 */
export function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null && !Object.isFrozen(value)) freezeTree(value);
  return value;
}

function freezeTree(node: object): void {
  Object.freeze(node);
  const children = Object.values(node);
  for (let i = 0; i < children.length; i++) {
    const child: unknown = children[i];
    if (typeof child === 'object' && child !== null && !Object.isFrozen(child)) freezeTree(child);
  }
}
