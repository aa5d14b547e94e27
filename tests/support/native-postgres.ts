import { execFileSync, spawnSync } from "node:child_process";
import { chmodSync, existsSync, mkdtempSync, readdirSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import os from "node:os";
import path from "node:path";

/** Debian's server binaries, newest version first; null when Postgres is not installed. */
export function findPostgresBin(): string | null {
  const root = "/usr/lib/postgresql";
  if (!existsSync(root)) return null;
  const versions = readdirSync(root)
    .filter((v) => existsSync(path.join(root, v, "bin", "initdb")))
    .sort((a, b) => Number(b) - Number(a));
  return versions.length ? path.join(root, versions[0], "bin") : null;
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const { port } = srv.address() as { port: number };
      srv.close(() => resolve(port));
    });
  });
}

export interface PostgresCluster {
  port: number;
  dir: string;
  url(database?: string): string;
  stop(): void;
}

/** initdb refuses to run as root, so as root the cluster runs as the `postgres` system user. */
function asPostgresUser(bin: string, args: string[]): void {
  const isRoot = process.getuid?.() === 0;
  const result = isRoot
    ? spawnSync("runuser", ["-u", "postgres", "--", bin, ...args], { encoding: "utf8" })
    : spawnSync(bin, args, { encoding: "utf8" });
  if (result.status !== 0) {
    throw new Error(`${path.basename(bin)} failed: ${result.stderr || result.stdout}`);
  }
}

/** Start a throwaway cluster on a free loopback port (trust auth, data in a temp dir). */
export async function startPostgresCluster(): Promise<PostgresCluster> {
  const bin = findPostgresBin();
  if (!bin) throw new Error("Postgres server binaries not found under /usr/lib/postgresql/*/bin");
  const dir = mkdtempSync(path.join(os.tmpdir(), "creditdesk-pg-"));
  chmodSync(dir, 0o777);
  if (process.getuid?.() === 0) execFileSync("chown", ["postgres:postgres", dir]);
  const port = await freePort();
  const dataDir = path.join(dir, "data");
  asPostgresUser(path.join(bin, "initdb"), [
    "-D",
    dataDir,
    "-U",
    "postgres",
    "--auth=trust",
    "-E",
    "UTF8",
    "--no-sync",
  ]);
  asPostgresUser(path.join(bin, "pg_ctl"), [
    "-D",
    dataDir,
    "-o",
    // TEST_PG_OPTIONS adds server settings, e.g. "-c shared_preload_libraries=pg_stat_statements"
    // for a benchmark's statement profile (BENCH_PG_STATEMENTS=1 in bench/reconcile).
    `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=300 ${process.env.TEST_PG_OPTIONS ?? ""}`,
    "-l",
    path.join(dir, "postgres.log"),
    "-w",
    "start",
  ]);
  return {
    port,
    dir,
    url: (database = "postgres") => `postgresql://postgres@127.0.0.1:${port}/${database}`,
    stop() {
      try {
        asPostgresUser(path.join(bin, "pg_ctl"), ["-D", dataDir, "-m", "immediate", "-w", "stop"]);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    },
  };
}
