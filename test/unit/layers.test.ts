// The layering of src/, read from every file's import lines: the base layer and the contract
// import nothing of ours, the doors (config, docker, consul) import neither ui/ nor stack/, and
// the registrator (its own image) imports no CLI code: only the contract, the base layer, the
// doors to Docker and Consul, and its own files. The stack model imports no service, and the
// services (one per command) import neither ui/ nor commands/.
import { readdirSync, readFileSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { describe, expect, it } from "vitest";

const SRC = join(import.meta.dirname, "..", "..", "src");

/** The area of a file under src/: its top directory, or its name for a top-level file. */
function areaOf(file: string): string {
  const [top = "", ...rest] = relative(SRC, file).split("/");
  return rest.length > 0 ? top : top.replace(/\.[jt]s$/, "");
}

/** Every file under src/ with the areas its relative imports (static and dynamic) reach. */
const FILES = (readdirSync(SRC, { recursive: true }) as string[])
  .filter((f) => f.endsWith(".ts"))
  .map((f) => {
    const file = join(SRC, f);
    const text = readFileSync(file, "utf8");
    const specifiers = [
      ...text.matchAll(/^\s*(?:import|export)\b[^;]*?\bfrom\s+"([^"]+)"/gm),
      ...text.matchAll(/\bimport\(\s*"([^"]+)"\s*\)/g),
    ].map((m) => m[1] ?? "");
    const reaches = specifiers
      .filter((s) => s.startsWith("."))
      .map((s) => areaOf(resolve(dirname(file), s)));
    return { file: relative(SRC, file), area: areaOf(file), reaches };
  });

/** Which areas each restricted area may import (besides itself). */
const ALLOWED: Record<string, string[]> = {
  base: [],
  contract: [],
  config: ["base", "contract"],
  docker: ["base", "contract"],
  consul: ["base", "contract"],
  registrator: ["base", "contract", "docker", "consul"],
  // The stack model (names, specs, plans, revisions, what runs) knows no command's service...
  stack: ["base", "contract", "config", "docker", "consul"],
  // ...and a command's service knows the model and the doors, not how it is shown (ui/).
  services: ["base", "contract", "config", "docker", "consul", "stack"],
};

describe("layers of src/", () => {
  it("finds the files and their imports", () => {
    expect(FILES.length).toBeGreaterThan(50);
    const agent = FILES.find((f) => f.file === "registrator/agent.ts");
    expect(agent?.reaches).toContain("contract");
  });

  it.each(Object.entries(ALLOWED))("%s imports only what its layer may", (area, allowed) => {
    const wrong = FILES.filter((f) => f.area === area).flatMap((f) =>
      f.reaches
        .filter((to) => to !== area && !allowed.includes(to))
        .map((to) => `${f.file} imports ${to}/`),
    );
    expect(wrong).toEqual([]);
  });

  it("nothing imports the commands", () => {
    const wrong = FILES.filter((f) => f.area !== "commands" && f.reaches.includes("commands"));
    expect(wrong.map((f) => f.file)).toEqual([]);
  });
});
