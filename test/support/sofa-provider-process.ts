/**
 * Stock SOFARPC providers in a process of their own, so a test can SIGKILL them (their ZooKeeper
 * session then ends and their ephemeral nodes vanish) and so the stock ZooKeeper client's retry
 * timers never outlive a test process. Run as
 * `node --import tsx sofa-provider-process.ts '<json ProviderProcessSpec>'`; prints
 * `ready {"<name>":<port>,...}` once every provider is published.
 */
import { sharedRegistry, startProvider, HELLO_SERVICE, type SofaProvider } from './sofa.js';

export interface ProviderProcessSpec {
  readonly zookeeper: string;
  readonly providers: readonly {
    readonly name: string;
    /** Publish with the stock server's own `publish()` (version 1.0, group SOFA, weight 100). */
    readonly publish?: boolean;
    /** Or register this provider's URL with these query parameters (another version, group, weight, enabled). */
    readonly register?: string;
  }[];
}

const spec = JSON.parse(process.argv[2]!) as ProviderProcessSpec;
const ports: Record<string, number> = {};
const running: SofaProvider[] = [];
for (const p of spec.providers) {
  const provider = await startProvider({ name: p.name, ...(p.publish ? { zookeeper: spec.zookeeper } : {}) });
  running.push(provider);
  ports[p.name] = provider.port;
  if (p.register !== undefined) {
    const registry = sharedRegistry(spec.zookeeper);
    await registry.ready();
    await registry.register({
      interfaceName: HELLO_SERVICE,
      url: `bolt://127.0.0.1:${provider.port}?dynamic=true&serialization=hessian2&interface=${HELLO_SERVICE}&${p.register}`,
    });
  }
}
process.stdout.write(`ready ${JSON.stringify(ports)}\n`);
process.on('SIGTERM', () => {
  // Unpublishing waits on ZooKeeper; the process ends within 5 s whatever it does.
  setTimeout(() => process.exit(0), 5_000).unref();
  Promise.all(running.map((p) => p.close())).finally(() => process.exit(0));
});
