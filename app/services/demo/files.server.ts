import { chmodSync, existsSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";

/** Where demo mode keeps its state, all inside DATA_DIR (what `demo reset` removes). */
export interface DemoFiles {
  dataDir: string;
  /** The embedded database (PGlite's directory). */
  database: string;
  /** The Stripe emulator's state: products, sessions, events, the webhook endpoint and its secret. */
  stripeSnapshot: string;
  /** The session-cookie secret generated outside production (auth/session.server.ts). */
  sessionSecret: string;
  /** The demo admin's login, readable by the owner only (0600), so every start can print it. */
  login: string;
}

export function demoFiles(dataDir: string): DemoFiles {
  const dir = path.resolve(dataDir);
  return {
    dataDir: dir,
    database: path.join(dir, "pglite"),
    stripeSnapshot: path.join(dir, "stripe-emulator.json"),
    sessionSecret: path.join(dir, "session-secret"),
    login: path.join(dir, "demo-login.json"),
  };
}

export interface DemoLogin {
  email: string;
  password: string;
}

export function readDemoLogin(file: string): DemoLogin | null {
  if (!existsSync(file)) return null;
  try {
    const parsed = JSON.parse(readFileSync(file, "utf8")) as Partial<DemoLogin>;
    return typeof parsed.email === "string" && typeof parsed.password === "string"
      ? { email: parsed.email, password: parsed.password }
      : null;
  } catch {
    return null;
  }
}

export function writeDemoLogin(file: string, login: DemoLogin): void {
  writeFileSync(file, JSON.stringify(login) + "\n", { mode: 0o600 });
  // mode only applies when the file is created; make sure an older file is private too.
  chmodSync(file, 0o600);
}
