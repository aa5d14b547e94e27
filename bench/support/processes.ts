/**
 * What a benchmark needs around the code it measures: a throwaway native Postgres cluster (fsync
 * and synchronous commit on, as in production), child processes that print "READY <url>", CPU
 * per process from /proc, latency percentiles and the machine's description: the steps every
 * benchmark in bench/ takes, written once.
 */
import { execFileSync, spawn, type ChildProcess } from "node:child_process";
import { closeSync, existsSync, openSync, readdirSync, readFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { startPostgresCluster, type PostgresCluster } from "../../tests/support/native-postgres";

export const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
export const log = (line: string) => process.stderr.write(`${line}\n`);

/** Settings that make the throwaway cluster durable like a production one (the test default is not). */
export const DURABLE_PG_OPTIONS = "-c fsync=on -c synchronous_commit=on -c full_page_writes=on";

export class BenchProcesses {
  private children: ChildProcess[] = [];
  private pids = new Map<string, number>();
  cluster?: PostgresCluster;

  /** A cluster with fsync, synchronous_commit and full_page_writes on (later -c settings win). */
  async startDurableCluster(): Promise<PostgresCluster> {
    const before = process.env.TEST_PG_OPTIONS;
    process.env.TEST_PG_OPTIONS = `${before ?? ""} ${DURABLE_PG_OPTIONS}`;
    try {
      this.cluster = await startPostgresCluster();
    } finally {
      if (before === undefined) delete process.env.TEST_PG_OPTIONS;
      else process.env.TEST_PG_OPTIONS = before;
    }
    return this.cluster;
  }

  /**
   * A cluster with the test defaults (fsync off) plus whatever TEST_PG_OPTIONS adds, e.g.
   * "-c fsync=on -c synchronous_commit=on" for a durable run.
   */
  async startCluster(): Promise<PostgresCluster> {
    this.cluster = await startPostgresCluster();
    return this.cluster;
  }

  pidOf(name: string): number | undefined {
    return this.pids.get(name);
  }

  /**
   * Start an entry point (compiled .js as is, .ts through tsx); resolves with the URL it prints
   * ("READY <url>", or the server's "listening on <url>"). Its stdout goes to a file, as a
   * supervisor would take it: a pipe drained late by the busy load generator would slow the app.
   */
  startChild(
    name: string,
    file: string,
    env: NodeJS.ProcessEnv,
    args: string[] = [],
    nodeArgs: string[] = [],
  ): Promise<string> {
    const logPath = path.join(os.tmpdir(), `creditdesk-bench-${name}-${process.pid}.log`);
    const fd = openSync(logPath, "w");
    const loader = file.endsWith(".ts") ? ["--import", "tsx"] : [];
    const child = spawn(process.execPath, [...nodeArgs, ...loader, file, ...args], {
      cwd: root,
      env,
      stdio: ["ignore", fd, "pipe"],
    });
    closeSync(fd);
    this.children.push(child);
    if (child.pid) this.pids.set(name, child.pid);
    if (process.env.BENCH_CPU_PROF_DIR) log(`${name}: pid ${child.pid}, stdout in ${logPath}`);
    let err = "";
    child.stderr!.on("data", (chunk: Buffer) => {
      err = (err + chunk.toString()).slice(-20_000);
    });
    return new Promise((resolve, reject) => {
      const started = Date.now();
      const poll = setInterval(() => {
        const out = readFileSync(logPath, "utf8").slice(0, 20_000);
        // "READY <url>" (bench servers), or the app's JSON log line "creditdesk listening".
        const m =
          /(?:READY|listening on|running at) (http\S+)/.exec(out) ??
          /"url":"(http[^"]+)","msg":"creditdesk listening"/.exec(out);
        if (m) {
          clearInterval(poll);
          resolve(m[1].replace("localhost", "127.0.0.1"));
        } else if (child.exitCode !== null || Date.now() - started > 120_000) {
          clearInterval(poll);
          reject(new Error(`${name} did not start (exit ${child.exitCode}):\n${err.slice(-2000)}`));
        }
      }, 100);
    });
  }

  /** CPU of every backend of the cluster (children of its postmaster), by pid. */
  postgresCpuByPid(): Map<number, number> {
    const out = new Map<number, number>();
    if (!this.cluster) return out;
    const pidFile = path.join(this.cluster.dir, "data", "postmaster.pid");
    if (!existsSync(pidFile)) return out;
    const postmaster = Number(readFileSync(pidFile, "utf8").split("\n")[0]);
    out.set(postmaster, cpuMs(postmaster));
    for (const entry of readdirSync("/proc")) {
      if (!/^\d+$/.test(entry)) continue;
      try {
        const stat = readFileSync(`/proc/${entry}/stat`, "utf8");
        const ppid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
        if (ppid === postmaster) out.set(Number(entry), cpuMs(Number(entry)));
      } catch {
        // The process ended while being read.
      }
    }
    return out;
  }

  async stopAll(): Promise<void> {
    for (const child of this.children.reverse()) {
      if (child.exitCode === null && child.pid) {
        child.kill("SIGTERM");
        const exited = new Promise((r) => child.once("exit", r));
        await Promise.race([exited, new Promise((r) => setTimeout(r, 5_000))]);
        if (child.exitCode === null) child.kill("SIGKILL");
      }
    }
    this.cluster?.stop();
  }
}

const CLK_TCK = Number(execFileSync("getconf", ["CLK_TCK"]).toString().trim()) || 100;

/** utime + stime of a process, in ms (from /proc, Linux). */
export function cpuMs(pid: number | undefined): number {
  if (!pid) return 0;
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return ((Number(fields[11]) + Number(fields[12])) * 1000) / CLK_TCK;
  } catch {
    return 0;
  }
}

/** CPU the cluster used between two snapshots (a backend that exited meanwhile is not counted). */
export function postgresCpuDelta(before: Map<number, number>, after: Map<number, number>): number {
  let total = 0;
  for (const [pid, ms] of after) total += ms - (before.get(pid) ?? 0);
  return total;
}

export function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

export function median(values: number[]): number {
  const s = [...values].sort((a, b) => a - b);
  if (s.length === 0) return 0;
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
}

export function machine(pgVersion: string) {
  return {
    cpus: os.cpus().length,
    cpuModel: os.cpus()[0]?.model ?? "unknown",
    memoryGiB: Math.round(os.totalmem() / 1024 ** 3),
    node: process.version,
    postgres: pgVersion,
    platform: `${os.type()} ${os.release()}`,
  };
}

/** The 1-minute load average, one decimal (other work on the shared machine shows here). */
export function load1(): number {
  return Number(os.loadavg()[0].toFixed(1));
}
