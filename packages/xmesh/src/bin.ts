#!/usr/bin/env node
// The `xmesh` command of the xmesh package: the same program as @xmesh/cli's.
import { buildProgram } from '@xmesh/cli';

buildProgram()
  .parseAsync(process.argv)
  .catch((error: unknown) => {
    console.error(error instanceof Error ? error.message : error);
    process.exitCode = 1;
  });
