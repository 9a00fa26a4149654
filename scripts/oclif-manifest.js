// Writes oclif.manifest.json, the command index `oclif manifest` writes, with @oclif/core's own
// loader: with it, `drcon --version` and `--help` no longer import every command (and dockerode).
import { rm, writeFile } from "node:fs/promises";
import { Config } from "@oclif/core";

const file = "oclif.manifest.json";
// An old index would be read back instead of the commands in dist/.
await rm(file, { force: true });
const config = await Config.load({ root: process.cwd() });
await writeFile(file, `${JSON.stringify(config.rootPlugin.manifest, null, 2)}\n`);
