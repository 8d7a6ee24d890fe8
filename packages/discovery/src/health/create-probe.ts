/** The probe for a health check's kind. */
import type { HealthCheckConfig } from '@xmesh/xds';
import { GrpcProbe } from './grpc-probe.js';
import { HttpProbe } from './http-probe.js';
import type { Probe, ProbeStats, ProbeTarget } from './probe.js';
import { TcpProbe } from './tcp-probe.js';

export function createProbe(config: HealthCheckConfig, target: ProbeTarget, stats: ProbeStats): Probe {
  switch (config.checker.kind) {
    case 'http':
      return new HttpProbe(config, target, stats);
    case 'grpc':
      return new GrpcProbe(config, target);
    case 'tcp':
      return new TcpProbe(config, target);
  }
}
