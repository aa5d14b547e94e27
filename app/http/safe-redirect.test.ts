import { describe, expect, it } from "vitest";
import { safeRedirect } from "./safe-redirect";

describe("safeRedirect", () => {
  it.each([
    "/",
    "/users?q=ava",
    "/users/usr_1#ledger",
    "/purchases?from=2026-01-01&to=2026-01-31",
    "/users/%E2%9C%93",
  ])("keeps the same-site path %j", (path) => {
    expect(safeRedirect(path)).toBe(path);
  });

  it.each([
    ["tab after the slash (the reported bypass)", "/\t/evil.example"],
    ["encoded tab", "/%09/evil.example"],
    ["newline", "/\n/evil.example"],
    ["carriage return", "/\r/evil.example"],
    ["space", "/ /evil.example"],
    ["no-break space", "/\u00a0/evil.example"],
    ["line separator", "/\u2028/evil.example"],
    ["NUL", "/\u0000/evil.example"],
    ["protocol-relative", "//evil.example"],
    ["encoded second slash", "/%2F/evil.example"],
    ["backslash", "/\\evil.example"],
    ["encoded backslash", "/%5Cevil.example"],
    ["backslash later in the path", "/users\\..\\evil"],
    ["absolute URL", "https://evil.example/"],
    ["javascript URL", "javascript:alert(1)"],
    ["relative path", "users"],
    ["empty", ""],
    ["malformed percent-encoding", "/%E0%A4%A"],
    ["very long", "/" + "a".repeat(3000)],
  ])("refuses %s", (_label, path) => {
    expect(safeRedirect(path)).toBe("/");
  });

  it("refuses what is not a string and uses the given fallback", () => {
    expect(safeRedirect(null)).toBe("/");
    expect(safeRedirect(undefined, "/users")).toBe("/users");
    expect(safeRedirect(["/users"])).toBe("/");
    expect(safeRedirect("//evil.example", "/account/password")).toBe("/account/password");
  });
});
