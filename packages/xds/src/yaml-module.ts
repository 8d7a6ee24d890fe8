/**
 * The `yaml` package, loaded when the first config text is parsed: a process given its config as an
 * object or from a control plane (the sidecar in most deployments) does not load it.
 */
import type * as Yaml from 'yaml';
import { lazyRequire } from '@xmesh/core';

/** `yaml`, required on the first call. */
export const yaml = lazyRequire<typeof Yaml>(import.meta.url, 'yaml');
