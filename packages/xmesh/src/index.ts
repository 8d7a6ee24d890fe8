/**
 * xmesh: the package an application installs. It is `@xmesh/client` — `createMesh`, the Mesh, its
 * events and options, `MeshError` and its codes — and brings the `xmesh` command (`@xmesh/cli`).
 */
export * from '@xmesh/client';
