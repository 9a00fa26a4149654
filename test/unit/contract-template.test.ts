// The LB's template cannot import src/contract.ts: this reads every consul-template file under
// templates/lb and checks that what it hard-codes is what the contract defines, so renaming a
// key in one place and not the other fails here and not silently in a running stack.
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import {
  DNS_LABEL,
  DRCON_TAG,
  ENV,
  type LbRoutes,
  META,
  NO_INSTANCE_TEXT,
  ROUTES_HOST,
  ROUTES_PATH,
  UPSTREAM_HEADER,
} from "../../src/contract.js";

const DIR = join(import.meta.dirname, "..", "..", "templates", "lb");
const TEMPLATES = readdirSync(DIR)
  .filter((f) => f.endsWith(".ctmpl"))
  .map((f) => readFileSync(join(DIR, f), "utf8"))
  .join("\n");
/** The template without its comments: what consul-template and nginx actually read. */
const CODE = TEMPLATES.replace(/\{\{-?\s*\/\*[\s\S]*?\*\/\s*-?\}\}/g, "").replace(/^\s*#.*$/gm, "");

describe("the LB template against the contract", () => {
  it("routes only registrations with drcon's tag", () => {
    expect(CODE).toContain(`.Tags | contains "${DRCON_TAG}"`);
    expect(CODE).toContain(`(print "${DRCON_TAG}." .Name`);
  });

  it("reads only meta keys the registrator writes, among them the stack and the signature", () => {
    const used = new Set([...CODE.matchAll(/\.ServiceMeta "([^"]+)"/g)].map((m) => m[1]));
    expect([...used].sort()).toEqual([META.signature, META.stack].sort());
    const written: string[] = Object.values(META);
    for (const key of used) expect(written).toContain(key);
  });

  it("checks service names with the contract's DNS-label pattern", () => {
    expect(CODE).toContain(`$label := "${DNS_LABEL.source}"`);
  });

  it("takes the stack, the route key and the default service from the contract's variables", () => {
    for (const name of [ENV.stack, ENV.routeKey, ENV.defaultService]) {
      expect(CODE).toContain(`env "${name}"`);
    }
  });

  it("serves its routes at the contract's host and path, with the LbRoutes fields", () => {
    expect(CODE).toMatch(new RegExp(`server_name ${ROUTES_HOST};`));
    expect(CODE).toContain(`location = ${ROUTES_PATH} {`);
    const fields: Array<keyof LbRoutes> = ["rendered", "default", "services"];
    for (const field of fields) expect(CODE).toContain(`"${field}":`);
  });

  it("answers a service without instances with the 503 text watch recognises", () => {
    const answers = CODE.match(/return 503 "[^"\n]*/g) ?? [];
    expect(answers.length).toBeGreaterThan(0);
    for (const answer of answers) expect(answer).toContain(`return 503 "${NO_INSTANCE_TEXT} `);
  });

  it("names the instance that served in the contract's header", () => {
    expect(CODE).toContain(`add_header ${UPSTREAM_HEADER} `);
  });
});
