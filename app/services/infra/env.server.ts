import { remember } from "~/lib/remember";
import { isIP } from "node:net";
import { z } from "zod";
import { isTimeZone } from "~/shared/report-time";

/** Raised when configuration is wrong; the message names the variable and what is accepted. */
export class ConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "ConfigError";
  }
}

const booleanString = z
  .enum(["true", "false", "1", "0", "yes", "no", "on", "off"])
  .transform((v) => ["true", "1", "yes", "on"].includes(v));

const emptyToUndefined = (v: unknown) => (typeof v === "string" && v.trim() === "" ? undefined : v);
const optionalString = z.preprocess(emptyToUndefined, z.string().optional());

const PROXY_NAMES = new Set(["loopback", "linklocal", "uniquelocal"]);

/** An address, an address/prefix (CIDR), or one of Express's names for a range. */
function isProxyAddress(entry: string): boolean {
  if (PROXY_NAMES.has(entry)) return true;
  const [address, prefix, extra] = entry.split("/");
  const family = isIP(address);
  if (!family || extra !== undefined) return false;
  if (prefix === undefined) return true;
  return /^\d{1,3}$/.test(prefix) && Number(prefix) <= (family === 4 ? 32 : 128);
}

/**
 * Which proxies' X-Forwarded-For (and -Proto, -Host) to believe: off (the default: the client is
 * whoever opened the connection), a number of proxy hops in front of the server, or a list of
 * proxy addresses/CIDRs. Never "everyone": that would let any client choose its own address.
 */
export const trustProxySchema = z.preprocess(
  emptyToUndefined,
  z
    .string()
    .optional()
    .transform((raw, ctx): false | number | string[] => {
      const value = raw?.trim().toLowerCase();
      if (value === undefined || ["off", "false", "no", "0"].includes(value)) return false;
      if (/^\d+$/.test(value)) {
        const hops = Number(value);
        if (hops <= 32) return hops;
      } else if (value !== "true" && value !== "on" && value !== "yes") {
        const entries = value.split(",").map((e) => e.trim());
        const bad = entries.filter((e) => !isProxyAddress(e));
        if (bad.length === 0) return entries;
        ctx.addIssue({
          code: "custom",
          message: `not an address, CIDR range, loopback, linklocal or uniquelocal: ${bad.join(", ")}`,
        });
        return z.NEVER;
      }
      ctx.addIssue({
        code: "custom",
        message:
          "must be off, the number of proxies in front of the server (1-32), or a comma-separated list of their addresses/CIDRs (trusting every address would let any client set its own IP)",
      });
      return z.NEVER;
    }),
);

export const envSchema = z.object({
  NODE_ENV: z.enum(["development", "production", "test"]).default("development"),
  PORT: z.coerce.number().int().min(0).max(65535).default(3000),
  HOST: z.string().default("0.0.0.0"),
  APP_URL: optionalString.pipe(z.url({ message: "must be an absolute http(s) URL" }).optional()),
  LOG_LEVEL: z.enum(["fatal", "error", "warn", "info", "debug", "trace", "silent"]).default("info"),
  // Unset: human lines on a terminal, JSON lines otherwise (logger.server.ts reads it at import).
  LOG_FORMAT: z.preprocess(emptyToUndefined, z.enum(["pretty", "json"]).optional()),
  TRUST_PROXY: trustProxySchema,

  DATABASE_URL: optionalString,
  DATA_DIR: z.preprocess(emptyToUndefined, z.string().default("./data")),
  MIGRATE_ON_START: z.preprocess(emptyToUndefined, booleanString.default(false)),

  SESSION_SECRET: optionalString.pipe(
    z.string().min(32, { message: "must be at least 32 characters" }).optional(),
  ),
  STRIPE_SECRET_KEY: optionalString.pipe(
    z
      .string()
      .regex(/^(sk|rk)_(test|live)_[A-Za-z0-9_]+$/, {
        message: "must look like sk_test_…, sk_live_…, rk_test_… or rk_live_…",
      })
      .optional(),
  ),
  STRIPE_WEBHOOK_SECRET: optionalString.pipe(
    z
      .string()
      .regex(/^whsec_[A-Za-z0-9_]+(\s*,\s*whsec_[A-Za-z0-9_]+)*$/, {
        message: "must be one or more whsec_… secrets separated by commas",
      })
      .optional(),
  ),
  STRIPE_API_BASE: optionalString.pipe(
    z.url({ message: "must be a URL such as http://127.0.0.1:12111" }).optional(),
  ),

  SCHEDULER: z.preprocess(emptyToUndefined, z.enum(["on", "off"]).default("on")),
  WEBHOOK_WORKER_CONCURRENCY: z.coerce.number().int().min(0).max(32).default(2),
  RECONCILE_CRON: z.preprocess(emptyToUndefined, z.string().default("0 3 * * *")),
  RECONCILE_TZ: z.preprocess(emptyToUndefined, z.string().default("UTC")),
  // The time zone of every finance report, filter, chart and export (days and months cut here).
  REPORT_TZ: z.preprocess(
    emptyToUndefined,
    z.string().default("UTC").refine(isTimeZone, {
      message: "must be an IANA time zone such as UTC or Europe/Berlin",
    }),
  ),
  RECONCILE_LOOKBACK_DAYS: z.coerce.number().int().min(1).max(30).default(3),
  RECONCILE_OVERLAP_MINUTES: z.coerce.number().int().min(0).max(1440).default(60),
  ALERT_WEBHOOK_URL: optionalString.pipe(z.url().optional()),

  CLAWBACK_POLICY: z.preprocess(
    emptyToUndefined,
    z.enum(["allow_negative", "clamp_to_zero"]).default("allow_negative"),
  ),
  ADJUSTMENT_APPROVAL_THRESHOLD: z.coerce.number().int().min(0).default(1000),
  /** The rolling window over which one staff member's manual credits to one user are summed. */
  APPROVAL_WINDOW_HOURS: z.coerce.number().int().min(1).max(720).default(24),
  DEMO_SEED: z.preprocess(emptyToUndefined, booleanString.default(true)),

  // Outbound events to the product (app/services/outbound/): deliveries in flight per process
  // (0: this process sends none), and whether endpoints may reach private addresses in production.
  OUTBOUND_WORKER_CONCURRENCY: z.coerce.number().int().min(0).max(512).default(64),
  OUTBOUND_ALLOW_PRIVATE: z.preprocess(emptyToUndefined, booleanString.default(false)),
  // credits.expiring is sent this many days before a grant's credits expire (once per grant).
  OUTBOUND_EXPIRING_DAYS: z.coerce.number().int().min(1).max(90).default(7),
});

export type Env = z.infer<typeof envSchema> & {
  /** No Stripe key outside production: the in-process emulator stands in for Stripe. */
  demoMode: boolean;
  appUrl: string;
  webhookSecrets: string[];
};

/** Validate the environment once. Throws ConfigError listing every bad variable by name. */
export function parseEnv(source: Record<string, string | undefined> = process.env): Env {
  const parsed = envSchema.safeParse(source);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((i) => `  ${i.path.join(".")}: ${i.message}`);
    throw new ConfigError(`Invalid configuration:\n${lines.join("\n")}`);
  }
  const env = parsed.data;
  if (env.NODE_ENV === "production") {
    const missing = (
      ["SESSION_SECRET", "STRIPE_SECRET_KEY", "STRIPE_WEBHOOK_SECRET"] as const
    ).filter((k) => !env[k]);
    if (missing.length > 0) {
      throw new ConfigError(
        `Missing required configuration in production (NODE_ENV=production): ${missing.join(", ")}. ` +
          `Set ${missing.length === 1 ? "it" : "them"} in the environment; see .env.example.`,
      );
    }
  }
  const webhookSecrets = (env.STRIPE_WEBHOOK_SECRET ?? "")
    .split(",")
    .map((s) => s.trim())
    .filter(Boolean);
  return {
    ...env,
    demoMode: !env.STRIPE_SECRET_KEY && env.NODE_ENV !== "production",
    appUrl: (env.APP_URL ?? `http://localhost:${env.PORT}`).replace(/\/$/, ""),
    webhookSecrets,
  };
}

// Process state, remembered (app/lib/remember.ts): setEnv's view outlives a module re-evaluation.
const holder = remember("env", (): { __creditdeskEnv?: Env } => ({}));

/** The validated environment of this process (parsed on first use). */
export function getEnv(): Env {
  holder.__creditdeskEnv ??= parseEnv();
  return holder.__creditdeskEnv;
}

/** The environment view as it stands, without parsing one (to put it back after a setEnv). */
export function peekEnv(): Env | undefined {
  return holder.__creditdeskEnv;
}

/** Replace the process environment view (tests, demo mode filling in emulator settings). */
export function setEnv(env: Env | undefined): void {
  holder.__creditdeskEnv = env;
}

/** REPORT_TZ: the zone finance reports cut days and months in. */
export function reportZone(): string {
  return getEnv().REPORT_TZ;
}
