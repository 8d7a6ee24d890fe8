/** Error collection for the protobuf bridge: every problem with its field path, raised as one MeshError. */
import { MeshError, type FieldError } from '@xmesh/core';

export class ProtoIssues {
  readonly errors: FieldError[] = [];

  add(path: string, message: string): void {
    this.errors.push({ path: path === '' ? '(root)' : path, message });
  }

  /** Throws MeshError XMESH_CONFIG_INVALID listing every recorded error, if there is one. */
  throwIfAny(what: string): void {
    if (this.errors.length === 0) return;
    const head = this.errors.slice(0, 3).map((e) => `${e.path}: ${e.message}`).join('; ');
    const more = this.errors.length > 3 ? ` (and ${this.errors.length - 3} more)` : '';
    throw new MeshError('XMESH_CONFIG_INVALID', `${what}: ${head}${more}`, { errors: this.errors });
  }
}

export function fieldPath(path: string, key: string): string {
  return path === '' ? key : `${path}.${key}`;
}
