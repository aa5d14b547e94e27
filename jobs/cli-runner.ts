import { ConfigError, getEnv } from "../app/services/infra/env.server";
import { getDatabase } from "../app/services/infra/db.server";
import { openAppDatabase } from "../app/services/infra/bootstrap.server";
import { scrubSecrets } from "../app/services/infra/logger.server";
import { startHooks, stopHooks } from "../app/services/infra/lifecycle.server";
import { DomainError } from "../app/services/errors.server";
import {
  jsonReplacer,
  parseCommandArgs,
  UsageError,
  type CliCommand,
  type CliContext,
  type CliIO,
} from "./cli-kit";

function overview(commands: CliCommand[]): string {
  const width = Math.max(...commands.map((c) => c.name.length));
  return [
    "Usage: npm run cli -- <command> [options]",
    "",
    "Commands:",
    ...commands.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`),
    "",
    "Every command takes --help, and --json to print one JSON object on stdout.",
    "Exit codes: 0 success, 1 failure, 2 usage error.",
  ].join("\n");
}

/** Run one CLI invocation; returns the exit code (never calls process.exit, so tests can call it). */
export async function run(
  argv: string[],
  commands: CliCommand[],
  io: CliIO,
  opts: { useOpenDatabase?: boolean } = {},
): Promise<number> {
  const [name, ...rest] = argv;
  // With --json even a usage error is one JSON object on stdout (the explanation goes to stderr),
  // so `… --json | jq` never reads half a line of help.
  const usageError = (message: string, help: string): number => {
    io.stderr.write(`${message}\n\n${help}\n`);
    if (argv.includes("--json"))
      io.stdout.write(JSON.stringify({ ok: false, code: "usage", error: message }) + "\n");
    return 2;
  };
  if (!name || name === "--help" || name === "-h" || name === "help") {
    io.stdout.write(overview(commands) + "\n");
    return name ? 0 : 2;
  }
  // Two-word commands ("ledger verify", "staff create") are registered with their full name.
  const command =
    commands.find((c) => c.name === `${name} ${rest[0] ?? ""}`.trim()) ??
    commands.find((c) => c.name === name);
  if (!command) {
    const group = commands.filter((c) => c.name.startsWith(`${name} `));
    return group.length
      ? usageError(`Unknown or missing subcommand for "${name}".`, overview(group))
      : usageError(`Unknown command "${name}".`, overview(commands));
  }
  const args = command.name.includes(" ") ? rest.slice(1) : rest;
  let parsed;
  try {
    parsed = parseCommandArgs(command, args);
  } catch (error) {
    return usageError((error as Error).message, command.help);
  }
  if (parsed.values.help) {
    io.stdout.write(command.help + "\n");
    return 0;
  }
  const json = Boolean(parsed.values.json);
  const ctx: CliContext = {
    values: parsed.values as CliContext["values"],
    positionals: parsed.positionals,
    json,
    io,
    say: (line) => {
      if (!json) io.stdout.write(line + "\n");
    },
    emit: (value) => {
      io.stdout.write(JSON.stringify(value, jsonReplacer) + "\n");
    },
  };
  let opened = false;
  try {
    // Tests install their own database and run commands against it.
    if (command.needsDatabase && !opts.useOpenDatabase) {
      // While a server holds the embedded database, commands reach it through the server.
      await openAppDatabase(getEnv(), {
        migrate: command.name === "migrate" ? "never" : "auto",
        throughOwner: true,
      });
      opened = true;
      // What commands need beside the database (demo mode's Stripe emulator, jobs/cli.ts).
      await startHooks("after-database");
    }
    return await command.run(ctx);
  } catch (error) {
    if (error instanceof UsageError) return usageError(error.message, command.help);
    const message =
      error instanceof ConfigError || error instanceof DomainError
        ? error.message
        : `${command.name} failed: ${(error as Error).message}`;
    if (json) ctx.emit({ ok: false, error: scrubSecrets(message) });
    else io.stderr.write(scrubSecrets(message) + "\n");
    return 1;
  } finally {
    if (opened) {
      await stopHooks();
      await getDatabase().close();
    }
  }
}
