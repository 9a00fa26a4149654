// Bundles the registrator agent (src/registrator/main.ts and what it imports) into one file,
// which templates/registrator/Dockerfile copies into its image: no npm install inside it.
import { build } from "esbuild";

await build({
  entryPoints: ["src/registrator/main.ts"],
  outfile: "dist/registrator/registrator.cjs",
  bundle: true,
  platform: "node",
  target: "node22",
  format: "cjs",
  minify: true,
  legalComments: "eof",
  // ssh2 (a dockerode dependency for ssh:// engines) loads these optional native addons in a
  // try/catch; the registrator talks to a unix socket and needs neither.
  external: ["cpu-features", "*.node"],
  logLevel: "warning",
});
