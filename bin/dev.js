#!/usr/bin/env node
// Development entry: the same CLI, compiled on each change with `npx tsc -w` alongside.
import { execute } from "@oclif/core";

await execute({ development: true, dir: import.meta.url });
