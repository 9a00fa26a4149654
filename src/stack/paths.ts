import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

// dist/stack/paths.js -> package root; templates/ and the registrator bundle ship beside dist/.
export const PACKAGE_ROOT = join(dirname(fileURLToPath(import.meta.url)), "..", "..");
export const TEMPLATES_DIR = join(PACKAGE_ROOT, "templates");
export const REGISTRATOR_BUNDLE = join(PACKAGE_ROOT, "dist", "registrator", "registrator.cjs");

export const VERSION: string = JSON.parse(
  readFileSync(join(PACKAGE_ROOT, "package.json"), "utf8"),
).version;
