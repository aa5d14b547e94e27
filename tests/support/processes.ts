import { spawn, spawnSync, type ChildProcess } from "node:child_process";

export interface RunningProcess {
  child: ChildProcess;
  output(): string;
  /** Resolves with the exit code once the process ends. */
  exited: Promise<number | null>;
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

/** Environment for a child process without the test runner's own database settings. */
export function cleanEnv(extra: Record<string, string>): NodeJS.ProcessEnv {
  const {
    DATABASE_URL: _a,
    DATA_DIR: _b,
    CREDITDESK_TEST_DB: _c,
    STRIPE_SECRET_KEY: _d,
    NODE_ENV: _e,
    ...base
  } = process.env;
  return { ...base, LOG_LEVEL: "warn", ...extra } as unknown as NodeJS.ProcessEnv;
}

export function startProcess(
  command: string,
  args: string[],
  env: NodeJS.ProcessEnv,
): RunningProcess {
  const child = spawn(command, args, { env, stdio: ["ignore", "pipe", "pipe"] });
  let out = "";
  child.stdout?.on("data", (c) => (out += c));
  child.stderr?.on("data", (c) => (out += c));
  const exited = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)));
  return {
    child,
    output: () => out,
    exited,
    async stop(signal = "SIGTERM") {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      return exited;
    },
  };
}

export async function waitFor<T>(
  what: string,
  fn: () => Promise<T | undefined | false>,
  timeoutMs = 60_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  while (Date.now() < deadline) {
    try {
      const value = await fn();
      if (value) return value;
    } catch (error) {
      lastError = error;
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(
    `Timed out waiting for ${what}${lastError ? `: ${(lastError as Error).message}` : ""}`,
  );
}

export function runSync(command: string, args: string[], env: NodeJS.ProcessEnv, input?: string) {
  return spawnSync(command, args, { env, input, encoding: "utf8", timeout: 120_000 });
}
