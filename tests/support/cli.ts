import { PassThrough, Readable } from "node:stream";
import { run } from "../../jobs/cli-runner";
import { commands } from "../../jobs/commands/index";

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
  /** stdout parsed as the single JSON object `--json` prints. */
  json<T = Record<string, unknown>>(): T;
}

/**
 * Run a CLI command in this process against the database the test installed. The runner opens
 * and closes its own database only for commands that need one, so tests pass `keepDatabase`.
 */
export async function runCli(
  argv: string[],
  opts: { stdin?: string; tty?: boolean } = {},
): Promise<CliResult> {
  const out = new PassThrough();
  const err = new PassThrough();
  let stdout = "";
  let stderr = "";
  out.on("data", (c) => (stdout += c));
  err.on("data", (c) => (stderr += c));
  const stdin = Object.assign(Readable.from(opts.stdin !== undefined ? [opts.stdin] : []), {
    isTTY: opts.tty ?? opts.stdin === undefined,
  });
  const code = await run(
    argv,
    commands,
    { stdout: out, stderr: err, stdin },
    { useOpenDatabase: true },
  );
  return {
    code,
    stdout,
    stderr,
    json<T>() {
      return JSON.parse(stdout.trim().split("\n").pop() ?? "null") as T;
    },
  };
}
