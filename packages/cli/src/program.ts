/** The `xmesh` command. Each verb is a thin call into a package. */
import { Command, InvalidArgumentError } from 'commander';
import { isMeshError } from '@xmesh/core';
import { formatInvalid, runValidate } from './validate.js';

type Print = (line: string) => void;

/**
 * `out` gets results (`validate`, where a sidecar listens); `err` gets failures and rejected configs.
 * A verb that cannot start prints why (a bad config as `validate` prints it, never a stack trace) and
 * sets the exit code to 1.
 */
export function buildProgram(out: Print = (l) => process.stdout.write(`${l}\n`), err: Print = (l) => process.stderr.write(`${l}\n`)): Command {
  const program = new Command('xmesh').description('xmesh: an in-process service mesh driven by Envoy v3 xDS resources');
  program
    .command('validate')
    .description('validate Envoy bootstrap / resource files (YAML or JSON) like `envoy --mode validate`')
    .argument('<files...>', 'config files')
    .option('-r, --routes', 'also print the resolved routing table')
    .option('--json', 'print the result as JSON')
    .option('--type <type>', 'resource type of files whose resources have no "@type": listener, route, cluster or endpoint')
    .action(async (files: string[], opts: { routes?: boolean; json?: boolean; type?: string }) => {
      process.exitCode = await runValidate(files, opts, out);
    });
  program
    .command('control-plane')
    .description('serve Envoy resources from a YAML/JSON file over xDS ADS (SotW and delta); edits are pushed to every client')
    .requiredOption('-c, --config <file>', 'resource file (watched)')
    .option('-p, --port <port>', 'port to listen on', '18000')
    .option('--host <host>', 'address to bind', '127.0.0.1')
    .option('--registry <url>', 'serve the endpoints of a service registry: etcd://host:port[,host:port...] or zookeeper://host:port[,host:port...][/root][?version=&group=] (SOFARPC providers)')
    .action(async (opts: { config: string; port: string; host: string; registry?: string }) => {
      const { runControlPlane } = await import('@xmesh/control-plane');
      try {
        let registry;
        if (opts.registry !== undefined) {
          const onError = (error: Error) => process.stderr.write(`[xmesh control-plane] ${error.message}\n`);
          if (opts.registry.startsWith('zookeeper://')) {
            const { ZooKeeperRegistry, zookeeperOptionsFromUrl } = await import('@xmesh/discovery');
            registry = new ZooKeeperRegistry({ ...zookeeperOptionsFromUrl(opts.registry), onError });
          } else {
            const { EtcdRegistry } = await import('@xmesh/registry-etcd');
            registry = new EtcdRegistry({ endpoints: opts.registry, onError });
          }
        }
        await runControlPlane({ config: opts.config, port: Number(opts.port), host: opts.host, ...(registry === undefined ? {} : { registry }) });
      } catch (error) {
        err(startFailure('control-plane', opts.config, error));
        process.exitCode = 1;
      }
    });
  program
    .command('sidecar')
    .description('run the xmesh sidecar: one HTTP/1.1 + h2c (gRPC) listener routed by the config; drains on SIGTERM')
    .option('-c, --config <file>', 'Envoy bootstrap / resource file (YAML or JSON, watched)')
    .option('--xds <bootstrap>', 'xDS bootstrap file: config from its control plane over ADS (instead of --config)')
    .option('--listen <host:port>', 'outbound listener', '127.0.0.1:15001')
    .option('--admin <host:port>', 'admin endpoint', '127.0.0.1:15000')
    .option('--drain-ms <ms>', 'grace period for in-flight requests on SIGTERM', '10000')
    .option('--listener <name>', 'the listener whose routes and filter chains (TLS) the outbound listener serves')
    .option('--max-connections <n>', 'downstream connections open at once; more are closed at accept (default: the config\'s overload manager, else 10000 or 3/4 of the open-file limit)', positiveInteger)
    .option('--max-grpc-message-bytes <bytes>', 'largest gRPC message relayed either way; a larger one ends its stream with RESOURCE_EXHAUSTED (default 4194304)', positiveInteger)
    .action(async (opts: { config?: string; xds?: string; listen: string; admin: string; drainMs: string; listener?: string; maxConnections?: number; maxGrpcMessageBytes?: number }) => {
      const { runSidecar } = await import('@xmesh/sidecar');
      const { maxConnections, maxGrpcMessageBytes, ...rest } = opts;
      const limits = {
        ...(maxConnections === undefined ? {} : { maxConnections }),
        ...(maxGrpcMessageBytes === undefined ? {} : { maxGrpcMessageBytes }),
      };
      try {
        const sidecar = await runSidecar({ ...rest, drainMs: Number(opts.drainMs), ...(Object.keys(limits).length === 0 ? {} : { limits }) }, out);
        // A bad edit of the watched file (or a NACKed xDS update) changes nothing served: say so, with every error.
        sidecar.mesh.on('config.rejected', ({ errors, source }) => {
          err(`${formatInvalid(source, errors)}\n  still serving version "${sidecar.mesh.snapshot.version}"`);
        });
        sidecar.mesh.on('config.applied', ({ version, source }) => out(`config version "${version}" applied from ${source}`));
      } catch (error) {
        err(startFailure('sidecar', opts.config ?? opts.xds ?? '(config)', error));
        process.exitCode = 1;
      }
    });
  return program;
}

/** A flag's value that must be a whole number of at least 1 (commander prints the error and exits 1 otherwise). */
function positiveInteger(value: string): number {
  const n = Number(value);
  if (!/^\d+$/.test(value.trim()) || !Number.isSafeInteger(n) || n < 1) throw new InvalidArgumentError('must be a whole number of at least 1.');
  return n;
}

/** Why a verb could not start: a config's errors as `validate` lists them, else the message. */
function startFailure(verb: string, config: string, error: unknown): string {
  if (isMeshError(error) && error.code === 'XMESH_CONFIG_INVALID' && error.errors.length > 0) return formatInvalid(config, error.errors);
  return `xmesh ${verb}: ${error instanceof Error ? error.message : String(error)}`;
}
