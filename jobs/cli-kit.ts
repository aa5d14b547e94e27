import { parseArgs, type ParseArgsConfig } from "node:util";

/** Thrown for bad command-line usage: the CLI prints it with the command's help and exits 2. */
export class UsageError extends Error {}

export interface CliIO {
  stdout: NodeJS.WritableStream & { isTTY?: boolean };
  stderr: NodeJS.WritableStream;
  stdin: NodeJS.ReadableStream & { isTTY?: boolean };
}

export interface CliCommand {
  name: string;
  summary: string;
  /** Full help text shown by `--help`. */
  help: string;
  options: NonNullable<ParseArgsConfig["options"]>;
  /** Whether the command needs the database opened before it runs. */
  needsDatabase: boolean;
  run(ctx: CliContext): Promise<number>;
}

export interface CliContext {
  values: Record<string, string | boolean | string[] | boolean[] | undefined>;
  positionals: string[];
  json: boolean;
  io: CliIO;
  /** Print a human line (suppressed with --json, which prints one JSON object instead). */
  say(line: string): void;
  /** Print the single JSON object for --json. */
  emit(value: unknown): void;
}

export const commonOptions = {
  help: { type: "boolean", short: "h" },
  json: { type: "boolean" },
} as const;

export function parseCommandArgs(command: CliCommand, argv: string[]) {
  try {
    return parseArgs({
      args: argv,
      options: { ...commonOptions, ...command.options },
      allowPositionals: true,
      strict: true,
    });
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
}

export function jsonReplacer(_key: string, value: unknown) {
  if (typeof value === "bigint") return value.toString();
  return value;
}

export async function readStdin(stdin: NodeJS.ReadableStream): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of stdin) chunks.push(Buffer.from(chunk as Buffer));
  return Buffer.concat(chunks).toString("utf8");
}

export function stringOption(ctx: CliContext, name: string): string | undefined {
  const v = ctx.values[name];
  return typeof v === "string" ? v : undefined;
}

export function requireOption(ctx: CliContext, name: string): string {
  const v = stringOption(ctx, name);
  if (!v) throw new UsageError(`--${name} is required`);
  return v;
}
