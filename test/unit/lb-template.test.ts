// The LB template's structure (issue 9, row 15): nginx refuses a configuration with two default
// servers, so the template writes `default_server` in exactly one place, outside every block
// that could repeat it or leave it out.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";

const TEMPLATE = readFileSync(
  join(import.meta.dirname, "..", "..", "templates", "lb", "nginx.conf.ctmpl"),
  "utf8",
);

describe("LB template", () => {
  it("has exactly one default server, at the top level of the template", () => {
    const lines = TEMPLATE.split("\n");
    const listens = lines
      .map((line, index) => ({ line, index }))
      .filter(({ line }) => /^\s*listen .*default_server/.test(line));
    expect(listens).toHaveLength(1);
    const before = lines.slice(0, listens[0]?.index).join("\n");
    const opened = before.match(/\{\{-?\s*(range|if|with|define)\b/g)?.length ?? 0;
    const closed = before.match(/\{\{-?\s*end\b/g)?.length ?? 0;
    expect(opened - closed).toBe(0);
  });
});
