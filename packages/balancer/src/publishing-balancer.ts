import type { Endpoint, Picker } from '@xmesh/core';
import type { Balancer } from './balancer.js';
import { BucketPicker } from './locality/bucket-picker.js';
import { planLoad, type LoadPlanOptions } from './locality/load-plan.js';
import { closedBalancer, failingPicker, noHealthyUpstream } from './picker.js';

/**
 * Builds an algorithm's picker over one bucket of endpoints (never empty when called). Algorithms
 * keep per-endpoint state themselves, keyed by `Endpoint.id`.
 */
export type PickerFactory = (endpoints: readonly Endpoint[]) => Picker;

export interface PublishingOptions {
  readonly loadPlan: LoadPlanOptions;
  /** Returns a number in [0, 1), for choosing a priority / locality bucket. */
  readonly random: () => number;
  /** Hash balancers choose the bucket from the request hash. */
  readonly bucketByHash: boolean;
  /** Told every endpoint update, so an algorithm can drop state of endpoints that left. */
  readonly onEndpoints?: (endpoints: readonly Endpoint[]) => void;
}

const DEFAULT_OPTIONS: PublishingOptions = {
  loadPlan: { overprovisioningFactor: 140, panicThreshold: 50, localityWeighted: false },
  random: Math.random,
  bucketByHash: false,
};

/**
 * The publishing half every algorithm shares: applies Envoy's priority / locality / panic plan
 * (excluding ejected endpoints), builds one algorithm picker per bucket, fails with
 * XMESH_NO_HEALTHY_UPSTREAM when nothing can serve, swaps the picker in one assignment, notifies.
 */
export class PublishingBalancer implements Balancer {
  private current: Picker;
  private readonly listeners: ((picker: Picker) => void)[] = [];
  private endpoints: readonly Endpoint[] = [];
  private excluded: ReadonlySet<string> = new Set();
  private closed = false;

  constructor(
    private readonly cluster: string,
    private readonly buildPicker: PickerFactory,
    private readonly options: PublishingOptions = DEFAULT_OPTIONS,
  ) {
    this.current = failingPicker(noHealthyUpstream(cluster, 0));
  }

  get picker(): Picker {
    return this.current;
  }

  setEndpoints(endpoints: readonly Endpoint[]): void {
    if (this.closed) return;
    this.endpoints = endpoints;
    this.options.onEndpoints?.(endpoints);
    this.rebuild();
  }

  setExcluded(ids: ReadonlySet<string>): void {
    if (this.closed) return;
    this.excluded = new Set(ids);
    this.rebuild();
  }

  onPicker(listener: (picker: Picker) => void): void {
    if (!this.closed) this.listeners.push(listener);
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.current = failingPicker(closedBalancer(this.cluster));
    this.listeners.length = 0;
  }

  private rebuild(): void {
    const buckets = planLoad(this.endpoints, this.excluded, this.options.loadPlan);
    let picker: Picker;
    if (buckets.length === 0) picker = failingPicker(noHealthyUpstream(this.cluster, this.endpoints.length));
    else if (buckets.length === 1) picker = this.buildPicker(buckets[0]!.endpoints);
    else {
      picker = new BucketPicker(
        buckets.map((b) => this.buildPicker(b.endpoints)),
        buckets.map((b) => b.weight),
        this.options.random,
        this.options.bucketByHash,
      );
    }
    this.publish(picker);
  }

  private publish(picker: Picker): void {
    this.current = picker;
    for (const listener of this.listeners) listener(picker);
  }
}
