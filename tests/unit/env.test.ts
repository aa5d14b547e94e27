import { describe, expect, it } from "vitest";
import { ConfigError, parseEnv } from "../../app/services/infra/env.server";
import { resolveDatabaseTarget } from "../../app/services/infra/db.server";

describe("configuration", () => {
  it("defaults to demo mode with the embedded database when nothing is set", () => {
    const env = parseEnv({});
    expect(env.demoMode).toBe(true);
    expect(env.PORT).toBe(3000);
    expect(env.appUrl).toBe("http://localhost:3000");
    expect(resolveDatabaseTarget(env)).toMatchObject({ kind: "pglite" });
  });

  it("stops production without its secrets, naming each missing one", () => {
    expect(() => parseEnv({ NODE_ENV: "production" })).toThrow(ConfigError);
    expect(() => parseEnv({ NODE_ENV: "production" })).toThrow(
      /SESSION_SECRET, STRIPE_SECRET_KEY, STRIPE_WEBHOOK_SECRET/,
    );
    expect(() =>
      parseEnv({
        NODE_ENV: "production",
        SESSION_SECRET: "x".repeat(40),
        STRIPE_SECRET_KEY: "sk_live_abc",
      }),
    ).toThrow(/: STRIPE_WEBHOOK_SECRET\. Set it/);
    const ok = parseEnv({
      NODE_ENV: "production",
      SESSION_SECRET: "x".repeat(40),
      STRIPE_SECRET_KEY: "sk_live_abc",
      STRIPE_WEBHOOK_SECRET: "whsec_a, whsec_b",
    });
    expect(ok.demoMode).toBe(false);
    expect(ok.webhookSecrets).toEqual(["whsec_a", "whsec_b"]);
  });

  it("names the variable for malformed values and never echoes a secret", () => {
    const attempt = () =>
      parseEnv({ STRIPE_SECRET_KEY: "pk_test_publishable", SESSION_SECRET: "short", PORT: "http" });
    expect(attempt).toThrow(/STRIPE_SECRET_KEY: must look like sk_test_/);
    expect(attempt).toThrow(/SESSION_SECRET: must be at least 32 characters/);
    expect(attempt).toThrow(/PORT:/);
    try {
      attempt();
    } catch (e) {
      expect((e as Error).message).not.toContain("pk_test_publishable");
    }
    expect(() => parseEnv({ STRIPE_WEBHOOK_SECRET: "not-a-secret" })).toThrow(
      /STRIPE_WEBHOOK_SECRET: must be one or more whsec_/,
    );
    expect(() => parseEnv({ CLAWBACK_POLICY: "sometimes" })).toThrow(/CLAWBACK_POLICY/);
  });

  it("accepts postgresql:// and postgres:// URLs and rejects anything else by name", () => {
    expect(resolveDatabaseTarget({ DATABASE_URL: "postgresql://u:p@db:5432/app" })).toEqual({
      kind: "postgres",
      url: "postgresql://u:p@db:5432/app",
    });
    expect(resolveDatabaseTarget({ DATABASE_URL: "postgres://db/app" }).kind).toBe("postgres");
    expect(() => resolveDatabaseTarget({ DATABASE_URL: "mysql://db/app" })).toThrow(
      /DATABASE_URL has an unsupported form \(scheme "mysql"\)\. Accepted: unset .* or postgresql:\/\//,
    );
    expect(() => resolveDatabaseTarget({ DATABASE_URL: "file:./dev.db" })).toThrow(/DATABASE_URL/);
    expect(() => resolveDatabaseTarget({ DATABASE_URL: "postgresql://" })).toThrow(
      /DATABASE_URL is not a valid URL/,
    );
  });

  it("uses DATA_DIR for the embedded database", () => {
    expect(resolveDatabaseTarget({ DATA_DIR: "/tmp/x" })).toEqual({
      kind: "pglite",
      dataDir: "/tmp/x",
    });
  });
});
