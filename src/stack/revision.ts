// A service's revision: what its instances run, as a short name that tells two specs apart.
import { createHash } from "node:crypto";
import type { ServiceConfig } from "../config/schema.js";

/**
 * The revision of a service spec: the image's tag plus a short hash of everything an instance
 * is made from (image, port, health path, environment), e.g. `1.11.0-3fa2b1c`. Two specs that
 * differ in anything but the replica count have different revisions.
 */
export function revisionOf(svc: ServiceConfig): string {
  const env = Object.entries(svc.env).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  const stable = JSON.stringify([svc.image, svc.port, svc.healthPath ?? null, env]);
  const hash = createHash("sha256").update(stable).digest("hex").slice(0, 7);
  return `${imageTag(svc.image)}-${hash}`;
}

/** The tag of an image reference, cut to what a revision holds (`latest` when it has none). */
export function imageTag(image: string): string {
  const name = image.split("@")[0] ?? image;
  const last = name.split("/").at(-1) ?? name;
  const tag = last.includes(":") ? (last.split(":").at(-1) ?? "") : "latest";
  const clean = tag
    .toLowerCase()
    .replace(/[^a-z0-9._-]/g, "-")
    .replace(/^[^a-z0-9]+/, "")
    .slice(0, 40);
  return clean || "latest";
}
