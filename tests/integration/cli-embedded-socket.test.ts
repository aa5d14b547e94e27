import { mkdtempSync, rmSync, statSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { PGlite } from "@electric-sql/pglite";
import pg from "pg";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import type { Database } from "../../app/services/infra/db.server";
import { shareEmbeddedDatabase } from "../../app/services/infra/embedded-share.server";
import {
  acquireRemoteLock,
  serveEmbeddedDatabase,
  type EmbeddedSocket,
  type SharedLock,
} from "../../app/services/infra/embedded-socket.server";

/**
 * The socket through which CLI commands reach the server's embedded database (PGlite is one
 * session): a client's statement or transaction runs alone — never inside another client's or the
 * server's own transaction — and a client that leaves leaves nothing behind. PGlite only: the
 * socket exists only for the embedded database.
 */
describe.skipIf(process.env.CREDITDESK_TEST_DB === "postgres")("embedded database socket", () => {
  let dataDir: string;
  let pglite: PGlite;
  let shared: EmbeddedSocket;
  const clients: pg.Client[] = [];
  let lockHolder: string | null = null;
  let lockHeld = false;
  const lock: SharedLock = {
    claim() {
      if (lockHeld) return { ok: false, holder: lockHolder };
      lockHeld = true;
      return {
        ok: true,
        setHolder: (id) => (lockHolder = id),
        release: () => {
          lockHeld = false;
          lockHolder = null;
        },
      };
    },
    status: () => ({ held: lockHeld, holder: lockHolder }),
  };

  beforeAll(async () => {
    dataDir = mkdtempSync(path.join(os.tmpdir(), "cd-sock-"));
    pglite = new PGlite();
    await pglite.waitReady;
    await pglite.exec("CREATE TABLE t (v text NOT NULL)");
    shared = await serveEmbeddedDatabase({
      pglite,
      dataDir,
      locks: { reconciliation: lock },
      idleInTransactionMs: 1_000,
    });
  });
  afterAll(async () => {
    await Promise.all(clients.map((c) => c.end().catch(() => undefined)));
    await shared.stop();
    await pglite.close();
    rmSync(dataDir, { recursive: true, force: true });
  });
  beforeEach(async () => {
    await pglite.exec("DELETE FROM t");
  });

  async function connect(): Promise<pg.Client> {
    const client = new pg.Client({
      host: shared.runDir,
      port: 5432,
      user: "postgres",
      database: "postgres",
    });
    client.on("error", () => undefined);
    await client.connect();
    clients.push(client);
    return client;
  }
  const values = async () =>
    (await pglite.query<{ v: string }>("SELECT v FROM t ORDER BY v")).rows.map((r) => r.v);
  const tick = () => new Promise((r) => setTimeout(r, 50));

  it("is a 0600 socket in a 0700 directory", () => {
    expect(statSync(shared.runDir).mode & 0o777).toBe(0o700);
    expect(statSync(shared.socketPath).mode & 0o777).toBe(0o600);
    expect(statSync(path.join(shared.runDir, "locks.sock")).mode & 0o777).toBe(0o600);
  });

  it("keeps the server's statements out of a client's transaction", async () => {
    const client = await connect();
    await client.query("BEGIN");
    await client.query("INSERT INTO t VALUES ('client')");
    // The server's own statement waits for the client's transaction instead of joining it…
    const server = pglite.query("INSERT INTO t VALUES ('server')");
    let serverDone = false;
    void server.then(() => (serverDone = true));
    await tick();
    expect(serverDone).toBe(false);
    // …so the client's rollback does not take the server's row with it.
    await client.query("ROLLBACK");
    await server;
    expect(await values()).toEqual(["server"]);
  });

  it("keeps a client's statements out of the server's own transaction", async () => {
    const client = await connect();
    let release!: () => void;
    const started = new Promise<void>((resolve) => {
      void pglite
        .transaction(async (tx) => {
          await tx.query("INSERT INTO t VALUES ('server-tx')");
          resolve();
          await new Promise<void>((r) => (release = r));
          await tx.rollback();
        })
        .catch(() => undefined);
    });
    await started;
    const fromClient = client.query("INSERT INTO t VALUES ('client')");
    await tick();
    release();
    await fromClient;
    expect(await values()).toEqual(["client"]);
  });

  it("never mixes two clients' extended-protocol messages", async () => {
    const a = await connect();
    const b = await connect();
    const c = await connect();
    // Three connections asking at once, each one query after another (as pg does).
    const answers: unknown[] = [];
    await Promise.all(
      [a, b, c].map(async (client, k) => {
        for (let i = k; i < 60; i += 3) {
          const r = await client.query("SELECT $1::text AS v, $2::int AS n", [`value-${i}`, i]);
          answers[i] = r.rows[0];
        }
      }),
    );
    answers.forEach((row, i) => expect(row).toEqual({ v: `value-${i}`, n: i }));
  });

  it("rolls back the transaction of a client that goes away", async () => {
    const client = await connect();
    await client.query("BEGIN");
    await client.query("INSERT INTO t VALUES ('abandoned')");
    await client.end();
    await pglite.query("INSERT INTO t VALUES ('after')");
    expect(await values()).toEqual(["after"]);
    expect(pglite.isInTransaction()).toBe(false);
  });

  it("disconnects a client idle inside a transaction, so the server is not stalled", async () => {
    const client = await connect();
    await client.query("BEGIN");
    await client.query("INSERT INTO t VALUES ('stuck')");
    // Waits for the client's turn to end: the idle-in-transaction limit (1 s here) ends it.
    await pglite.query("INSERT INTO t VALUES ('server')");
    expect(await values()).toEqual(["server"]);
    await expect(client.query("SELECT 1")).rejects.toThrow();
  });

  it("drops a client's named prepared statements when it leaves", async () => {
    const first = await connect();
    const one = await first.query({ name: "creditdesk_probe", text: "SELECT 1 AS n" });
    expect(one.rows).toEqual([{ n: 1 }]);
    await first.end();
    // The same name with another text in the next client: no "already exists".
    const second = await connect();
    const two = await second.query({ name: "creditdesk_probe", text: "SELECT 2 AS n" });
    expect(two.rows).toEqual([{ n: 2 }]);
  });

  it("reports a failed statement to its client only and goes on", async () => {
    const a = await connect();
    const b = await connect();
    await expect(a.query("SELECT * FROM no_such_table")).rejects.toThrow(/no_such_table/);
    await a.query("BEGIN");
    await expect(a.query("SELECT 1/0")).rejects.toThrow(/division by zero/);
    await a.query("ROLLBACK");
    expect((await b.query("SELECT 41 + 1 AS n")).rows).toEqual([{ n: 42 }]);
    expect((await a.query("SELECT 'ok' AS v")).rows).toEqual([{ v: "ok" }]);
  });

  it("leaves a DATA_DIR too deep for a socket unshared, with a message naming it", async () => {
    const deep = path.join(dataDir, "d".repeat(90));
    await expect(serveEmbeddedDatabase({ pglite, dataDir: deep, locks: {} })).rejects.toThrow(
      `DATA_DIR "${deep}" is too deep for a Unix socket`,
    );
    // The server goes on without sharing (the CLI then refuses while it runs, as before).
    const db = { pglite, dataDir: deep } as unknown as Database;
    expect(await shareEmbeddedDatabase(db)).toBeNull();
  });

  it("holds a shared lock for one process at a time, naming the holder", async () => {
    const first = await acquireRemoteLock(shared.runDir, "reconciliation");
    expect(first.ok).toBe(true);
    if (!first.ok) return;
    await first.lock.setHolder("run_123");
    expect(await acquireRemoteLock(shared.runDir, "reconciliation")).toEqual({
      ok: false,
      holder: "run_123",
    });
    expect(first.lock.isHeld()).toBe(true);
    await first.lock.release();
    const next = await acquireRemoteLock(shared.runDir, "reconciliation");
    expect(next.ok).toBe(true);
    if (next.ok) await next.lock.release();
    await expect(acquireRemoteLock(shared.runDir, "no-such-lock")).rejects.toThrow(/unknown-lock/);
  });
});
