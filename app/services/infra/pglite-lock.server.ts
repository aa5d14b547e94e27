import {
  closeSync,
  mkdirSync,
  openSync,
  readFileSync,
  rmSync,
  writeSync,
  accessSync,
  constants,
} from "node:fs";
import path from "node:path";
import { ConfigError } from "./env.server";

/**
 * PGlite is a single-process database: two processes writing one directory corrupt it.
 * We hold an exclusive lock file for the life of the process; a second process gets a clear
 * error naming the holder. The holder (a server) shares the database with the other processes
 * through a socket (embedded-socket.server.ts), so the CLI goes through it instead of failing.
 * A lock left by a crashed process (its PID no longer alive) is taken over.
 */
export const LOCK_FILE = "creditdesk.lock";

/** DATA_DIR is held by another live process (its pid). */
export class DirectoryInUseError extends ConfigError {
  constructor(
    message: string,
    public readonly holderPid: number,
  ) {
    super(message);
  }
}

export interface DirectoryLock {
  release(): void;
}

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
}

export function ensureWritableDirectory(dir: string): void {
  try {
    mkdirSync(dir, { recursive: true });
    accessSync(dir, constants.W_OK);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? "error";
    throw new ConfigError(
      `DATA_DIR "${dir}" is not a writable directory (${code}). ` +
        `Point DATA_DIR at a directory this process can write, or set DATABASE_URL to a postgresql:// URL.`,
    );
  }
}

export function acquireDirectoryLock(dir: string): DirectoryLock {
  const lockPath = path.join(dir, LOCK_FILE);
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const fd = openSync(lockPath, "wx");
      writeSync(fd, JSON.stringify({ pid: process.pid, startedAt: new Date().toISOString() }));
      closeSync(fd);
      let released = false;
      const release = () => {
        if (released) return;
        released = true;
        try {
          const holder = JSON.parse(readFileSync(lockPath, "utf8")) as { pid?: number };
          if (holder.pid === process.pid) rmSync(lockPath, { force: true });
        } catch {
          // Lock already gone: nothing to release.
        }
      };
      process.once("exit", release);
      return { release };
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
      let holder: { pid?: number; startedAt?: string } = {};
      try {
        holder = JSON.parse(readFileSync(lockPath, "utf8"));
      } catch {
        // Unreadable lock: treat as stale below.
      }
      if (holder.pid && holder.pid !== process.pid && pidAlive(holder.pid)) {
        throw new DirectoryInUseError(
          `The embedded database in DATA_DIR "${dir}" is in use by process ${holder.pid}` +
            (holder.startedAt ? ` (since ${holder.startedAt})` : "") +
            `. PGlite allows one process per directory: stop that process first, ` +
            `or use a different DATA_DIR, or run on Postgres (DATABASE_URL=postgresql://…).`,
          holder.pid,
        );
      }
      rmSync(lockPath, { force: true });
    }
  }
  throw new ConfigError(
    `Could not lock DATA_DIR "${dir}"; remove ${lockPath} if no process uses it.`,
  );
}
