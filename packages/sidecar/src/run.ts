/**
 * The `xmesh sidecar` process: starts a sidecar, prints where it listens, drains on SIGTERM/SIGINT
 * (stop accepting, finish in-flight requests, exit 0).
 */
import type { SidecarLimits } from './protection.js';
import { startSidecar, type Sidecar } from './sidecar.js';

export interface RunSidecarOptions {
  /** Envoy bootstrap / resources file (YAML or JSON). */
  readonly config?: string;
  /** An xDS bootstrap file: config comes from its control plane over ADS. */
  readonly xds?: string;
  readonly listen?: string;
  /** `host:port`, or `false` for no admin endpoint. */
  readonly admin?: string | false;
  readonly watch?: boolean;
  /** Drain grace period on SIGTERM, ms; default 10 000. */
  readonly drainMs?: number;
  /** The listener served (routes when the authority names none, filter chain TLS); default the only one. */
  readonly listener?: string;
  /** Process-wide limits (connection limit, gRPC message size, premature-reset check); see `SidecarLimits`. */
  readonly limits?: Partial<SidecarLimits>;
}

/**
 * Runs until a signal drains it. Resolves with the running sidecar (the process stays alive on its
 * sockets); rejects when the options or the config are invalid.
 */
export async function runSidecar(options: RunSidecarOptions, out: (line: string) => void = (l) => process.stdout.write(`${l}\n`)): Promise<Sidecar> {
  if ((options.config === undefined) === (options.xds === undefined)) throw new Error('give exactly one of --config <file> and --xds <bootstrap>');
  const sidecar = await startSidecar({
    ...(options.xds === undefined ? { config: options.config!, watch: options.watch ?? true } : { xds: options.xds }),
    ...(options.listen === undefined ? {} : { listen: options.listen }),
    ...(options.admin === undefined ? {} : { admin: options.admin }),
    ...(options.listener === undefined ? {} : { listener: options.listener }),
    ...(options.limits === undefined ? {} : { limits: options.limits }),
  });
  const admin = sidecar.adminAddress;
  out(`xmesh sidecar listening on ${sidecar.target}${admin ? `, admin on ${admin.host}:${admin.port}` : ''}`);
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    out(`${signal}: draining`);
    sidecar.drain(options.drainMs ?? 10_000).then(
      () => {
        out('drained');
        process.exit(0);
      },
      (error: unknown) => {
        out(`drain failed: ${(error as Error).message}`);
        process.exit(1);
      },
    );
  };
  process.once('SIGTERM', () => stop('SIGTERM'));
  process.once('SIGINT', () => stop('SIGINT'));
  return sidecar;
}
