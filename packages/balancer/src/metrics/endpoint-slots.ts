/**
 * Per-endpoint state kept by id across picker rebuilds: a slot lives while its endpoint is in the
 * cluster and goes when the endpoint goes. Pickers hold slot references directly, so a pick does
 * no map lookup.
 */
export class EndpointSlots<S> {
  private slots = new Map<string, S>();

  constructor(private readonly create: (id: string) => S) {}

  /** The slot for `id`, created on first use. */
  slot(id: string): S {
    let slot = this.slots.get(id);
    if (slot === undefined) {
      slot = this.create(id);
      this.slots.set(id, slot);
    }
    return slot;
  }

  /** Drops the slots of endpoints not in `ids`. */
  retain(ids: Iterable<string>): void {
    const next = new Map<string, S>();
    for (const id of ids) {
      const slot = this.slots.get(id);
      if (slot !== undefined) next.set(id, slot);
    }
    this.slots = next;
  }

  get size(): number {
    return this.slots.size;
  }

  peek(id: string): S | undefined {
    return this.slots.get(id);
  }
}
