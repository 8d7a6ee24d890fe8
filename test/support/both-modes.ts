/**
 * One Envoy config served both ways a test compares: an app's embedded mesh, and a sidecar on loopback (its
 * admin endpoint on a free port) that a stock client talks to.
 */
import type { Server } from 'node:http';
import { createMesh, type Mesh } from '@xmesh/client';
import { startSidecar, type Sidecar } from '@xmesh/sidecar';

export interface BothModes {
  readonly mesh: Mesh;
  readonly sidecar: Sidecar;
  /** Closes the mesh and the sidecar. */
  close(): Promise<void>;
}

export async function startBothModes(config: object): Promise<BothModes> {
  const mesh = await createMesh({ config });
  const sidecar = await startSidecar({ config, listen: '127.0.0.1:0', admin: '127.0.0.1:0' }).catch(async (error: unknown) => {
    await mesh.close();
    throw error;
  });
  return {
    mesh,
    sidecar,
    close: async () => {
      await mesh.close();
      await sidecar.close();
    },
  };
}

/** Listens on a free loopback port; resolves with `127.0.0.1:port`. */
export async function listenLocal(server: Server): Promise<string> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return `127.0.0.1:${(server.address() as { port: number }).port}`;
}
