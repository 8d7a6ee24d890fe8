/**
 * Events a mesh emits while it starts (before `createMesh` resolves, when the app cannot have
 * registered a listener yet): a DNS failure of a cluster's first resolution, a NACKed xDS response,
 * the ADS stream coming up or going down, where the first config came from. Each is recorded here
 * and handed to the first listener the app registers for its name after start-up, so
 * `mesh.on('discovery.error', ...)` right after `await createMesh(...)` still sees what happened.
 * Bounded: past MAX_HELD_STARTUP_EVENTS the oldest are dropped. Recording stops when start-up ends;
 * what is recorded stays until a listener takes it or the mesh closes.
 */

/** How many start-up events a mesh keeps for replay. */
export const MAX_HELD_STARTUP_EVENTS = 100;

interface HeldEvent {
  readonly name: string | symbol;
  readonly args: readonly unknown[];
}

export class StartupEvents {
  private held: HeldEvent[] = [];
  private recording = true;

  /** True while start-up lasts: events are recorded, not yet replayed. */
  get starting(): boolean {
    return this.recording;
  }

  /** Records an event emitted during start-up. */
  hold(name: string | symbol, args: readonly unknown[]): void {
    if (!this.recording) return;
    if (this.held.length >= MAX_HELD_STARTUP_EVENTS) this.held.shift();
    this.held.push({ name, args });
  }

  has(name: string | symbol): boolean {
    return this.held.some((event) => event.name === name);
  }

  /** Removes and returns the recorded events of `name`, oldest first. */
  takeAll(name: string | symbol): readonly (readonly unknown[])[] {
    const taken: (readonly unknown[])[] = [];
    this.held = this.held.filter((event) => event.name !== name || (taken.push(event.args), false));
    return taken;
  }

  /** Removes and returns the oldest recorded event of `name`, if any. */
  takeOldest(name: string | symbol): readonly unknown[] | undefined {
    const index = this.held.findIndex((event) => event.name === name);
    return index < 0 ? undefined : this.held.splice(index, 1)[0]!.args;
  }

  /** Start-up is over: later events are not recorded (those recorded wait for a listener). */
  end(): void {
    this.recording = false;
  }

  clear(): void {
    this.recording = false;
    this.held = [];
  }
}
