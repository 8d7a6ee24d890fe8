/** `xmesh control-plane`: serve a resource file over ADS until SIGINT/SIGTERM. */
import { ControlPlane } from './control-plane.js';
import { consoleLogger, type ControlPlaneLogger } from './events.js';
import { serveFile } from './file-source.js';

export interface RunControlPlaneOptions {
  readonly config: string;
  readonly port: number;
  readonly host?: string;
  readonly logger?: ControlPlaneLogger;
  /** Resolves when the server should stop; default: the first SIGINT or SIGTERM. */
  readonly until?: Promise<void>;
}

/** Serves until `until` resolves, then closes. Rejects if the file cannot be served at start. */
export async function runControlPlane(options: RunControlPlaneOptions): Promise<void> {
  const plane = new ControlPlane({ logger: options.logger ?? consoleLogger });
  const source = await serveFile(plane, options.config);
  await plane.listen(options.port, options.host ?? '127.0.0.1');
  await (options.until ?? new Promise<void>((resolve) => {
    process.once('SIGINT', () => resolve());
    process.once('SIGTERM', () => resolve());
  }));
  source.close();
  await plane.close();
}
