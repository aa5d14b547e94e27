import { remember } from "~/lib/remember";
import pino from "pino";

/**
 * Logs. JSON lines (pino) for machines: in production, whenever the output is not a terminal, and
 * with LOG_FORMAT=json. Human lines on a terminal (LOG_FORMAT=pretty, the default there): the same
 * records, formatted synchronously in this process by formatPretty() — no transport thread, no
 * extra package. Secrets never reach a log line: known secret-bearing keys are redacted wherever
 * they appear, and callers log ids and outcomes rather than payloads.
 *
 * The server logs to stdout; the CLI calls useLogDestination("stderr") so that its stdout carries
 * only the command's own output (one JSON object with --json).
 */
export const redactedKeys = [
  "password",
  "passwordHash",
  "password_hash",
  "secret",
  "token",
  "apiKey",
  "authorization",
  "cookie",
  "stripeSecretKey",
  "STRIPE_SECRET_KEY",
  "STRIPE_WEBHOOK_SECRET",
  "SESSION_SECRET",
  "DATABASE_URL",
];

export const LOG_FORMATS = ["pretty", "json"] as const;
export type LogFormat = (typeof LOG_FORMATS)[number];

interface Output {
  write(text: string): unknown;
  isTTY?: boolean;
}

const isLogFormat = (value: string | undefined): value is LogFormat =>
  (LOG_FORMATS as readonly string[]).includes(value ?? "");

/**
 * LOG_FORMAT when set (env.server.ts rejects any other value); else pretty on a terminal, except in
 * production, whose logs are for machines even when someone attaches a terminal.
 */
export function chooseLogFormat(
  requested: string | undefined,
  isTTY: boolean,
  production = process.env.NODE_ENV === "production",
): LogFormat {
  if (isLogFormat(requested)) return requested;
  return isTTY && !production ? "pretty" : "json";
}

let output: Output = process.stdout;
let format: LogFormat = chooseLogFormat(process.env.LOG_FORMAT, process.stdout.isTTY === true);

/** Send log lines to stderr (the CLI) or stdout (the server); the format follows that stream. */
export function useLogDestination(destination: "stdout" | "stderr"): void {
  output = destination === "stderr" ? process.stderr : process.stdout;
  format = chooseLogFormat(process.env.LOG_FORMAT, output.isTTY === true);
}

export function logFormat(): LogFormat {
  return format;
}

const LEVELS: Record<number, string> = {
  10: "TRACE",
  20: "DEBUG",
  30: "INFO",
  40: "WARN",
  50: "ERROR",
  60: "FATAL",
};
const LEVEL_COLORS: Record<number, string> = { 40: "33", 50: "31", 60: "31;1" };
const paint = (on: boolean, code: string, text: string) =>
  on ? `\x1b[${code}m${text}\x1b[0m` : text;

function formatValue(value: unknown): string {
  if (typeof value === "string") return /^[^\s"=]+$/.test(value) ? value : JSON.stringify(value);
  if (Array.isArray(value) && value.every((v) => typeof v === "string" || typeof v === "number"))
    return value.join(",");
  return JSON.stringify(value);
}

/**
 * One pino JSON line as one human line: `12:04:05 WARN  message  key=value …`. An error object
 * (pino's `err` serializer) shows its message; its stack only at error level and above.
 * A line that is not JSON is returned as it is.
 */
export function formatPretty(line: string, opts: { color?: boolean } = {}): string {
  let record: Record<string, unknown>;
  try {
    record = JSON.parse(line) as Record<string, unknown>;
  } catch {
    return line.endsWith("\n") ? line : `${line}\n`;
  }
  const { level, time, msg, service: _service, pid: _pid, hostname: _host, ...fields } = record;
  const color = opts.color === true;
  const levelNumber = typeof level === "number" ? level : 30;
  const at = new Date(typeof time === "number" ? time : Date.now());
  const clock = [at.getHours(), at.getMinutes(), at.getSeconds()]
    .map((n) => String(n).padStart(2, "0"))
    .join(":");
  const label = (LEVELS[levelNumber] ?? String(levelNumber)).padEnd(5);
  const parts = [
    paint(color, "2", clock),
    LEVEL_COLORS[levelNumber] ? paint(color, LEVEL_COLORS[levelNumber], label) : label,
    typeof msg === "string" ? msg : "",
  ];
  let stack = "";
  const pairs: string[] = [];
  for (const [key, value] of Object.entries(fields)) {
    if (value === undefined) continue;
    if (value && typeof value === "object" && "message" in value && "stack" in value) {
      const err = value as { message: unknown; stack: unknown };
      pairs.push(`${key}=${formatValue(String(err.message))}`);
      if (levelNumber >= 50 && typeof err.stack === "string")
        stack = `\n${err.stack.replace(/^/gm, "    ")}`;
      continue;
    }
    pairs.push(`${key}=${formatValue(value)}`);
  }
  const tail = pairs.length > 0 ? `  ${paint(color, "2", pairs.join(" "))}` : "";
  return `${parts.join(" ").trimEnd()}${tail}${stack}\n`;
}

// --- the terminal: human lines and one status line (a progress bar) kept below them -----------

// One console per process, remembered (app/lib/remember.ts) across a module re-evaluation.
const terminal = remember("terminal", (): Terminal => ({
  statusLine: undefined,
  hidingRoutine: 0,
  hiddenCount: 0,
}));
interface Terminal {
  statusLine: string | undefined;
  hidingRoutine: number;
  hiddenCount: number;
}
const interactive = () => process.stdout.isTTY === true && format === "pretty";
const CLEAR_LINE = "\r\x1b[2K";

/** Write to the log output, keeping the status line (if any) below what is written. */
function writeAboveStatus(target: Output, text: string) {
  if (terminal.statusLine !== undefined && target === process.stdout) {
    process.stdout.write(`${CLEAR_LINE}${text}${terminal.statusLine}`);
  } else {
    target.write(text);
  }
}

/** Print a line for the person at the console (never a secret). */
export function printLine(text: string): void {
  writeAboveStatus(process.stdout, `${text}\n`);
}

/** Whether a status line can be drawn: stdout is a terminal and logs are human lines. */
export function canShowStatus(): boolean {
  return interactive();
}

/** Show (or replace) the status line under the output; undefined removes it. Terminal only. */
export function setStatusLine(text: string | undefined): void {
  if (!interactive()) return;
  if (text === undefined) {
    if (terminal.statusLine !== undefined) process.stdout.write(CLEAR_LINE);
    terminal.statusLine = undefined;
    return;
  }
  const width = process.stdout.columns || 100;
  terminal.statusLine = text.length > width - 1 ? text.slice(0, width - 1) : text;
  process.stdout.write(`${CLEAR_LINE}${terminal.statusLine}`);
}

/** `[━━━━━━────]` for done/total, `width` cells. */
export function progressBar(done: number, total: number, width = 24): string {
  const ratio = total > 0 ? Math.min(1, Math.max(0, done / total)) : 0;
  const full = Math.round(ratio * width);
  return `[${"█".repeat(full)}${"░".repeat(width - full)}]`;
}

/**
 * While a progress bar says what is happening (demo seeding), hide the human console's routine
 * lines (info and below: one per purchase credited…); warnings and errors still print. JSON logs
 * are never filtered. Returns the function that ends it, which returns how many lines were hidden.
 */
export function hideRoutineLogs(): () => number {
  terminal.hidingRoutine++;
  let ended = false;
  return () => {
    if (!ended) {
      ended = true;
      terminal.hidingRoutine--;
    }
    const hidden = terminal.hiddenCount;
    if (terminal.hidingRoutine === 0) terminal.hiddenCount = 0;
    return hidden;
  };
}

const sink = {
  write(line: string) {
    if (format === "json") {
      writeAboveStatus(output, line);
      return;
    }
    if (terminal.hidingRoutine > 0 && /"level":(10|20|30),/.test(line)) {
      terminal.hiddenCount++;
      return;
    }
    writeAboveStatus(output, formatPretty(line, { color: output.isTTY === true && !noColor() }));
  },
};

function noColor() {
  return process.env.NO_COLOR !== undefined && process.env.NO_COLOR !== "";
}

export const logger = pino(
  {
    level: process.env.LOG_LEVEL ?? (process.env.NODE_ENV === "test" ? "silent" : "info"),
    base: { service: "creditdesk" },
    redact: {
      paths: [
        ...redactedKeys,
        ...redactedKeys.map((k) => `*.${k}`),
        'req.headers["stripe-signature"]',
      ],
      censor: "[redacted]",
    },
  },
  sink,
);

/** Remove anything that looks like a credential from a message before it is logged or shown. */
export function scrubSecrets(text: string): string {
  return text
    .replace(/\b(sk|rk|pk)_(test|live)_[A-Za-z0-9]+/g, "$1_$2_[redacted]")
    .replace(/\bwhsec_[A-Za-z0-9+/=_]+/g, "whsec_[redacted]")
    .replace(/\bcdk_[A-Za-z0-9_]+/g, "cdk_[redacted]")
    .replace(/(postgres(?:ql)?:\/\/[^:/\s]+:)[^@\s]+@/g, "$1[redacted]@");
}
