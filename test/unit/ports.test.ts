import { describe, expect, it } from "vitest";
import { hostPort, httpUrl, urlHost } from "../../src/stack/ports.js";

describe("host addresses in URLs", () => {
  it("brackets IPv6 and reaches a wildcard address through loopback", () => {
    expect(httpUrl("127.0.0.1", 8080)).toBe("http://127.0.0.1:8080");
    expect(httpUrl("::1", 8080)).toBe("http://[::1]:8080");
    expect(httpUrl("0.0.0.0", 8080)).toBe("http://127.0.0.1:8080");
    expect(httpUrl("::", 8080)).toBe("http://[::1]:8080");
    expect(urlHost("fd00::5")).toBe("[fd00::5]");
    expect(hostPort("::1", 80)).toBe("[::1]:80");
    expect(hostPort("0.0.0.0", 80)).toBe("0.0.0.0:80");
  });
});
