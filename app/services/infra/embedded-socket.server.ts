import { chmodSync, existsSync, lstatSync, mkdirSync, rmSync } from "node:fs";
import net from "node:net";
import path from "node:path";
import type { PGlite } from "@electric-sql/pglite";
import { ConfigError } from "./env.server";
import { logger } from "./logger.server";

/**
 * The embedded database for other processes. PGlite lives inside the process that holds DATA_DIR
 * (the server); the CLI and `npm run jobs` reach it through a Unix socket in DATA_DIR/run/ that
 * speaks the Postgres wire protocol, so they use the same `pg` code path as on native Postgres.
 *
 * PGlite is one backend session. Clients therefore take turns by *unit of work*: a client gets
 * PGlite's transaction mutex (the one PGlite's own query() and transaction() take, so the server's
 * Prisma waits too) when it sends a message, and gives it back when the backend is idle again —
 * after a Sync or simple query that leaves no transaction open. A statement, or a whole
 * BEGIN…COMMIT, thus runs alone; statements from different clients never interleave inside one
 * transaction or one Parse/Bind/Execute sequence. (@electric-sql/pglite-socket 0.2 queues single
 * protocol messages instead: a second client's Parse can land between another's Parse and Bind,
 * and its messages can run inside the server's own open transaction; hence this handler.)
 *
 * Nobody but the owner can connect: run/ is 0700 and the socket 0600; there is no TCP port.
 * A client that sits inside a transaction without sending anything for IDLE_IN_TRANSACTION_MS is
 * disconnected (its transaction rolled back), so a stuck CLI cannot stall the server for long.
 *
 * Beside the database socket, a second socket offers named locks that live as long as the
 * client's connection (what Postgres advisory locks give across processes; in PGlite's single
 * session they exclude nobody): reconciliation's one-run-at-a-time rule uses it.
 */

export const RUN_DIR = "run";
/** pg connects to `<host dir>/.s.PGSQL.<port>`; the port number only names the file. */
export const SOCKET_PORT = 5432;
export const SOCKET_FILE = `.s.PGSQL.${SOCKET_PORT}`;
export const LOCK_SOCKET_FILE = "locks.sock";
export const IDLE_IN_TRANSACTION_MS = 15_000;

export function embeddedRunDir(dataDir: string): string {
  return path.join(dataDir, RUN_DIR);
}

const SSL_REQUEST = 80877103;
const GSSENC_REQUEST = 80877104;
const CANCEL_REQUEST = 80877102;
const PROTOCOL_3 = 196608;
/** Postgres refuses messages above 1 GB as well. */
const MAX_MESSAGE = 1 << 30;

function simpleQuery(sql: string): Uint8Array {
  const text = Buffer.from(`${sql}\0`, "utf8");
  const message = Buffer.alloc(5 + text.length);
  message.write("Q", 0, "latin1");
  message.writeInt32BE(4 + text.length, 1);
  text.copy(message, 5);
  return message;
}
const SYNC = Uint8Array.from([0x53, 0, 0, 0, 4]);

/** Take PGlite's transaction mutex; resolves with the function that gives it back. */
function acquireTurn(pglite: PGlite): Promise<() => void> {
  return new Promise((resolve) => {
    void pglite._runExclusiveTransaction(() => new Promise<void>((done) => resolve(done)));
  });
}

type Message = { type: "startup" | string; bytes: Buffer };

class Connection {
  private buffer: Buffer = Buffer.alloc(0);
  private started = false;
  private release: (() => void) | null = null;
  private chain: Promise<void> = Promise.resolve();
  private pending = 0;
  private closed = false;
  private usedNamedStatements = false;
  private idleTimer: NodeJS.Timeout | undefined;
  /** Resolves once the connection is closed and PGlite is clean and released. */
  readonly done: Promise<void>;

  constructor(
    private readonly socket: net.Socket,
    private readonly pglite: PGlite,
    private readonly idleInTransactionMs: number,
  ) {
    let finished!: () => void;
    this.done = new Promise((resolve) => (finished = resolve));
    socket.on("data", (chunk: Buffer) => this.receive(chunk));
    socket.on("error", () => socket.destroy());
    socket.on("close", () => {
      this.closed = true;
      clearTimeout(this.idleTimer);
      this.chain = this.chain.then(() => this.cleanUp()).then(finished, finished);
    });
  }

  destroy(): void {
    this.socket.destroy();
  }

  private receive(chunk: Buffer): void {
    this.buffer = this.buffer.length ? Buffer.concat([this.buffer, chunk]) : chunk;
    for (;;) {
      const message = this.nextMessage();
      if (!message) return;
      this.pending += 1;
      this.chain = this.chain
        .then(() => this.handle(message))
        .catch((error: unknown) => {
          logger.warn(
            { err: (error as Error)?.message ?? String(error) },
            "embedded database socket: closing a client connection after an error",
          );
          this.socket.destroy();
        })
        .finally(() => {
          this.pending -= 1;
          this.armIdleTimer();
        });
    }
  }

  private nextMessage(): Message | null {
    const b = this.buffer;
    if (!this.started) {
      if (b.length < 8) return null;
      const length = b.readInt32BE(0);
      if (length < 8 || length > 10_000) return this.protocolError();
      if (b.length < length) return null;
      const code = b.readInt32BE(4);
      const bytes = b.subarray(0, length);
      this.buffer = b.subarray(length);
      if (code === SSL_REQUEST || code === GSSENC_REQUEST) {
        this.socket.write("N"); // no TLS on a local socket; the client goes on in plain text
        return this.nextMessage();
      }
      if (code !== PROTOCOL_3) {
        // A cancel request (PGlite has no backend to signal) or an unknown protocol version.
        if (code !== CANCEL_REQUEST) this.protocolError();
        else this.socket.end();
        return null;
      }
      this.started = true;
      return { type: "startup", bytes };
    }
    if (b.length < 5) return null;
    const length = b.readInt32BE(1) + 1;
    if (length < 5 || length > MAX_MESSAGE) return this.protocolError();
    if (b.length < length) return null;
    const bytes = b.subarray(0, length);
    this.buffer = b.subarray(length);
    return { type: String.fromCharCode(bytes[0]!), bytes };
  }

  private protocolError(): null {
    this.buffer = Buffer.alloc(0);
    this.socket.destroy();
    return null;
  }

  private async handle(message: Message): Promise<void> {
    if (this.closed) return;
    clearTimeout(this.idleTimer);
    if (message.type === "X") {
      this.socket.end(); // Terminate: never forwarded, PGlite's session is shared
      return;
    }
    if (!this.release) {
      const release = await acquireTurn(this.pglite);
      this.release = release;
      if (this.closed) return; // cleanUp (queued behind us) releases it
    }
    // A named prepared statement outlives the connection in the shared session: dropped at close.
    if (message.type === "P" && message.bytes[5] !== 0) this.usedNamedStatements = true;
    await this.pglite.runExclusive(() =>
      this.pglite.execProtocolRawStream(new Uint8Array(message.bytes), {
        onRawData: (data) => {
          if (!this.closed) this.socket.write(Buffer.from(data));
        },
      }),
    );
    const endsUnit = message.type === "S" || message.type === "Q" || message.type === "startup";
    if (endsUnit && !this.pglite.isInTransaction()) this.giveBack();
  }

  private giveBack(): void {
    const release = this.release;
    this.release = null;
    release?.();
  }

  /** Holding PGlite with nothing to do: the client must speak again soon. */
  private armIdleTimer(): void {
    clearTimeout(this.idleTimer);
    if (this.closed || !this.release || this.pending > 0) return;
    this.idleTimer = setTimeout(() => {
      logger.warn(
        { idleMs: this.idleInTransactionMs },
        "embedded database socket: a client kept a transaction open without sending anything; " +
          "disconnecting it and rolling its transaction back",
      );
      this.socket.destroy();
    }, this.idleInTransactionMs);
    this.idleTimer.unref();
  }

  /** Leave the shared session as the server expects it: no open transaction, no named statements. */
  private async cleanUp(): Promise<void> {
    if (!this.release && !this.usedNamedStatements) return;
    if (!this.release) this.release = await acquireTurn(this.pglite);
    try {
      await this.pglite.runExclusive(async () => {
        await this.pglite.execProtocolRaw(SYNC);
        if (this.pglite.isInTransaction())
          await this.pglite.execProtocolRaw(simpleQuery("ROLLBACK"));
        if (this.usedNamedStatements)
          await this.pglite.execProtocolRaw(simpleQuery("DEALLOCATE ALL"));
      });
    } catch (error) {
      logger.warn(
        { err: (error as Error)?.message ?? String(error) },
        "embedded database socket: cleaning up after a client failed",
      );
    } finally {
      this.giveBack();
    }
  }
}

/** A lock that one process at a time holds; the server decides, clients ask over the lock socket. */
export interface SharedLock {
  /** Claim it for a remote holder, or say who holds it (null: held, holder unknown). */
  claim():
    | { ok: true; setHolder(id: string): void; release(): void }
    | { ok: false; holder: string | null };
  status(): { held: boolean; holder: string | null };
}

function serveLocks(socket: net.Socket, locks: Record<string, SharedLock>): void {
  const claims = new Map<string, { setHolder(id: string): void; release(): void }>();
  let pendingText = "";
  const reply = (line: string) => socket.write(`${line}\n`);
  socket.setEncoding("utf8");
  socket.on("data", (text: string) => {
    pendingText += text;
    if (pendingText.length > 4096) return void socket.destroy();
    let newline: number;
    while ((newline = pendingText.indexOf("\n")) >= 0) {
      const [verb, name = "", arg] = pendingText.slice(0, newline).trim().split(" ");
      pendingText = pendingText.slice(newline + 1);
      const lock = locks[name];
      if (!lock) {
        reply("error unknown-lock");
        continue;
      }
      if (verb === "acquire") {
        if (claims.has(name)) {
          reply("ok");
          continue;
        }
        const result = lock.claim();
        if (result.ok) {
          claims.set(name, result);
          reply("ok");
        } else reply(`held ${result.holder ?? "-"}`);
      } else if (verb === "holder" && arg) {
        claims.get(name)?.setHolder(arg);
        reply("ok");
      } else if (verb === "release") {
        claims.get(name)?.release();
        claims.delete(name);
        reply("ok");
      } else if (verb === "status") {
        const s = lock.status();
        reply(s.held ? `held ${s.holder ?? "-"}` : "free");
      } else reply("error unknown-verb");
    }
  });
  socket.on("error", () => socket.destroy());
  // The lock dies with the connection, like a Postgres session lock dies with its session.
  socket.on("close", () => {
    for (const claim of claims.values()) claim.release();
    claims.clear();
  });
}

export interface EmbeddedSocket {
  runDir: string;
  socketPath: string;
  stop(): Promise<void>;
}

/** run/ must be ours and closed to everyone else before a socket goes in it. */
function prepareRunDir(runDir: string): void {
  mkdirSync(runDir, { recursive: true, mode: 0o700 });
  const stat = lstatSync(runDir);
  if (
    !stat.isDirectory() ||
    (typeof process.getuid === "function" && stat.uid !== process.getuid())
  )
    throw new ConfigError(`${runDir} must be a directory owned by the user running creditdesk.`);
  chmodSync(runDir, 0o700);
}

function listen(server: net.Server, socketPath: string): Promise<void> {
  // The owner holds DATA_DIR's lock, so a socket file left here is a crashed owner's: replace it.
  if (existsSync(socketPath)) rmSync(socketPath, { force: true });
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    // Created 0600 (umask) and chmod-ed again, inside a 0700 directory.
    const previous = process.umask(0o177);
    try {
      server.listen(socketPath, () => {
        server.off("error", reject);
        chmodSync(socketPath, 0o600);
        resolve();
      });
    } finally {
      process.umask(previous);
    }
  });
}

/** Serve the owner's PGlite (and the shared locks) to the other processes of this user. */
export async function serveEmbeddedDatabase(opts: {
  pglite: PGlite;
  dataDir: string;
  locks: Record<string, SharedLock>;
  /** Tests shorten it. */
  idleInTransactionMs?: number;
}): Promise<EmbeddedSocket> {
  const runDir = embeddedRunDir(opts.dataDir);
  const socketPath = path.join(runDir, SOCKET_FILE);
  const lockPath = path.join(runDir, LOCK_SOCKET_FILE);
  // sun_path holds 107 bytes on Linux; a deeper DATA_DIR cannot be shared.
  if (Buffer.byteLength(socketPath) > 100)
    throw new ConfigError(
      `DATA_DIR "${opts.dataDir}" is too deep for a Unix socket (${socketPath} is over 100 bytes): ` +
        "choose a shorter DATA_DIR so CLI commands can reach the database while the server runs.",
    );
  prepareRunDir(runDir);
  const connections = new Set<Connection>();
  const lockSockets = new Set<net.Socket>();
  const database = net.createServer((socket) => {
    const connection = new Connection(
      socket,
      opts.pglite,
      opts.idleInTransactionMs ?? IDLE_IN_TRANSACTION_MS,
    );
    connections.add(connection);
    void connection.done.then(() => connections.delete(connection));
  });
  const lockServer = net.createServer((socket) => {
    lockSockets.add(socket);
    socket.on("close", () => lockSockets.delete(socket));
    serveLocks(socket, opts.locks);
  });
  await listen(database, socketPath);
  try {
    await listen(lockServer, lockPath);
  } catch (error) {
    database.close();
    throw error;
  }
  let stopping: Promise<void> | undefined;
  return {
    runDir,
    socketPath,
    stop() {
      stopping ??= (async () => {
        const closed = Promise.all([
          new Promise((resolve) => database.close(resolve)),
          new Promise((resolve) => lockServer.close(resolve)),
        ]);
        const pending = [...connections].map((c) => c.done);
        for (const c of connections) c.destroy();
        for (const s of lockSockets) s.destroy();
        await Promise.all(pending);
        await closed;
      })();
      return stopping;
    },
  };
}

/** A lock held through the owner's lock socket; released when released or when this process ends. */
export interface RemoteLock {
  setHolder(id: string): Promise<void>;
  /** False once the connection to the owner is gone (the owner stopped). */
  isHeld(): boolean;
  release(): Promise<void>;
}

function connectLockSocket(runDir: string) {
  const socket = net.connect(path.join(runDir, LOCK_SOCKET_FILE));
  socket.setEncoding("utf8");
  const waiting: ((line: string) => void)[] = [];
  let text = "";
  let open = true;
  socket.on("data", (chunk: string) => {
    text += chunk;
    let newline: number;
    while ((newline = text.indexOf("\n")) >= 0) {
      const line = text.slice(0, newline);
      text = text.slice(newline + 1);
      waiting.shift()?.(line);
    }
  });
  const connected = new Promise<void>((resolve, reject) => {
    socket.once("connect", resolve);
    socket.once("error", reject);
  });
  socket.on("close", () => {
    open = false;
    for (const w of waiting.splice(0)) w("error closed");
  });
  socket.on("error", () => undefined);
  return {
    socket,
    isOpen: () => open,
    async ask(line: string): Promise<string> {
      await connected;
      if (!open) return "error closed";
      return new Promise((resolve) => {
        waiting.push(resolve);
        socket.write(`${line}\n`);
      });
    },
  };
}

function lockServiceError(runDir: string, answer: string): Error {
  return new Error(`the server's lock service at ${runDir} answered "${answer}"`);
}

/** Ask the owner for a named lock: the lock, or who holds it. */
export async function acquireRemoteLock(
  runDir: string,
  name: string,
): Promise<{ ok: true; lock: RemoteLock } | { ok: false; holder: string | null }> {
  const conn = connectLockSocket(runDir);
  const answer = await conn.ask(`acquire ${name}`);
  if (answer.startsWith("held")) {
    conn.socket.destroy();
    const holder = answer.slice(5);
    return { ok: false, holder: holder && holder !== "-" ? holder : null };
  }
  if (answer !== "ok") {
    conn.socket.destroy();
    throw lockServiceError(runDir, answer);
  }
  let released = false;
  return {
    ok: true,
    lock: {
      async setHolder(id) {
        await conn.ask(`holder ${name} ${id}`);
      },
      isHeld: () => !released && conn.isOpen(),
      async release() {
        if (released) return;
        released = true;
        conn.socket.end();
        await new Promise<void>((resolve) =>
          conn.isOpen() ? conn.socket.once("close", () => resolve()) : resolve(),
        );
      },
    },
  };
}

export async function remoteLockStatus(
  runDir: string,
  name: string,
): Promise<{ held: boolean; holder: string | null }> {
  const conn = connectLockSocket(runDir);
  try {
    const answer = await conn.ask(`status ${name}`);
    if (answer === "free") return { held: false, holder: null };
    if (!answer.startsWith("held")) throw lockServiceError(runDir, answer);
    const holder = answer.slice(5);
    return { held: true, holder: holder && holder !== "-" ? holder : null };
  } finally {
    conn.socket.destroy();
  }
}
