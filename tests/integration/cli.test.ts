import { describe, expect, it } from "vitest";
import { useTestDatabase } from "../support/test-database";
import { runCli } from "../support/cli";

const t = useTestDatabase();

describe("CLI conventions", () => {
  it("prints the command list and exits 2 when no command is given", async () => {
    const r = await runCli([]);
    expect(r.code).toBe(2);
    expect(r.stdout).toContain("Usage: npm run cli -- <command>");
    expect(r.stdout).toContain("ledger verify");
  });

  it("exits 2 for an unknown command and names it", async () => {
    const r = await runCli(["frobnicate"]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('Unknown command "frobnicate"');
  });

  it("shows --help for every command and exits 0", async () => {
    for (const argv of [["migrate"], ["db:migration"], ["staff", "create"], ["ledger", "verify"]]) {
      const r = await runCli([...argv, "--help"]);
      expect(r.code, argv.join(" ")).toBe(0);
      expect(r.stdout, argv.join(" ")).toMatch(/^Usage: npm run/);
    }
  });

  it("exits 2 with the message for an unknown option", async () => {
    const r = await runCli(["ledger", "verify", "--bogus"]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/bogus/);
  });
});

describe("staff create", () => {
  it("reads the password from stdin and never prints it", async () => {
    const r = await runCli(
      ["staff", "create", "--email", "Ana@Example.com", "--role", "support", "--json"],
      {
        stdin: "a-very-long-password-123\n",
      },
    );
    expect(r.code).toBe(0);
    const out = r.json<{ email: string; role: string; generatedPassword: string | null }>();
    expect(out).toMatchObject({
      email: "ana@example.com",
      role: "support",
      generatedPassword: null,
    });
    expect(r.stdout + r.stderr).not.toContain("a-very-long-password-123");
    const row = await t.db.prisma.staffUser.findUniqueOrThrow({
      where: { email: "ana@example.com" },
    });
    expect(row.passwordHash).toMatch(/^scrypt\$/);
    expect(
      await t.db.prisma.auditLog.count({ where: { action: "staff.create", targetId: row.id } }),
    ).toBe(1);
  });

  it("generates and prints a password once when stdin is a terminal", async () => {
    const r = await runCli(["staff", "create", "--email", "gen@example.com", "--role", "admin"], {
      tty: true,
    });
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/Initial password \(shown once\): \S{5}-\S{5}-\S{5}-\S{5}/);
  });

  it("rejects a missing --email with exit 2, and a bad role or short password with exit 1", async () => {
    expect((await runCli(["staff", "create", "--role", "admin"], { tty: true })).code).toBe(2);
    const badRole = await runCli(
      ["staff", "create", "--email", "x@example.com", "--role", "root"],
      { tty: true },
    );
    expect(badRole.code).toBe(1);
    expect(badRole.stderr).toContain("role must be admin, support or finance");
    const short = await runCli(["staff", "create", "--email", "y@example.com", "--role", "admin"], {
      stdin: "short\n",
    });
    expect(short.code).toBe(1);
    expect(short.stderr).toContain("password must be at least 12 characters");
    expect(
      await t.db.prisma.staffUser.count({
        where: { email: { in: ["x@example.com", "y@example.com"] } },
      }),
    ).toBe(0);
  });

  it("refuses a duplicate email", async () => {
    await runCli(["staff", "create", "--email", "dup@example.com", "--role", "admin"], {
      tty: true,
    });
    const again = await runCli(
      ["staff", "create", "--email", "DUP@example.com", "--role", "finance"],
      { tty: true },
    );
    expect(again.code).toBe(1);
    expect(again.stderr).toContain("already exists");
  });
});

describe("ledger verify", () => {
  it("is clean on a consistent ledger and reports a corrupted balance cache with exit 1", async () => {
    await t.db.prisma.user.create({
      data: { id: "lv1", email: "lv1@example.com", emailNormalized: "lv1@example.com" },
    });
    const { postLedgerEntry } = await import("../../app/services/ledger.server");
    await postLedgerEntry({ userId: "lv1", delta: 50, kind: "grant", idempotencyKey: "lv1-a" });
    await postLedgerEntry({ userId: "lv1", delta: -20, kind: "usage", idempotencyKey: "lv1-b" });
    const ok = await runCli(["ledger", "verify", "--json"]);
    expect(ok.code).toBe(0);
    expect(ok.json()).toMatchObject({ ok: true, violations: [] });

    // users.balance is only a cache: corrupt it behind the ledger's back and verify must notice.
    await t.db.prisma.$executeRawUnsafe(`UPDATE users SET balance = 999 WHERE id = 'lv1'`);
    const bad = await runCli(["ledger", "verify", "--json"]);
    expect(bad.code).toBe(1);
    const report = bad.json<{ ok: boolean; violations: { check: string; userId: string }[] }>();
    expect(report.ok).toBe(false);
    expect(report.violations).toEqual(
      expect.arrayContaining([expect.objectContaining({ check: "balance_cache", userId: "lv1" })]),
    );
    await t.db.prisma.$executeRawUnsafe(`UPDATE users SET balance = 30 WHERE id = 'lv1'`);
  });
});
