/**
 * The yardstick for debits: a bare Node HTTP server doing the minimal correct debit. It checks
 * the bearer token against a hashed key (SHA-256, the hash given at start), parses the JSON body,
 * then runs ONE prepared statement that locks the user's row, inserts the ledger row only if the
 * balance covers it (ON CONFLICT on the idempotency key: a retry inserts nothing) and decrements
 * the balance from the inserted row. 201 with the new balance, 402 when it does not cover, 200 for
 * a repeated key. Everything creditdesk does beyond this (routing, validation, scopes, rate
 * limits, seq and running balance, audit record, rollups, batching) is its cost.
 */
import { createHash, timingSafeEqual } from "node:crypto";
import { createServer } from "node:http";
import pg from "pg";

const keyHash = Buffer.from(process.env.BASELINE_KEY_HASH ?? "", "hex");
const pool = new pg.Pool({
  connectionString: process.env.DATABASE_URL,
  max: Number(process.env.BASELINE_POOL ?? 16),
});
await pool.query(`
  CREATE TABLE IF NOT EXISTS baseline_users (id text PRIMARY KEY, balance int NOT NULL);
  CREATE TABLE IF NOT EXISTS baseline_ledger (idempotency_key text PRIMARY KEY, user_id text NOT NULL,
    delta int NOT NULL, balance_after int NOT NULL, created_at timestamptz NOT NULL DEFAULT now())`);

const DEBIT = {
  name: "baseline_debit",
  text: `
    WITH u AS (SELECT id, balance FROM baseline_users WHERE id = $1 FOR UPDATE),
    e AS (
      INSERT INTO baseline_ledger (idempotency_key, user_id, delta, balance_after)
      SELECT $3, u.id, -$2::int, u.balance - $2::int FROM u WHERE u.balance >= $2::int
      ON CONFLICT (idempotency_key) DO NOTHING
      RETURNING balance_after),
    b AS (UPDATE baseline_users SET balance = e.balance_after FROM e WHERE baseline_users.id = $1)
    SELECT (SELECT balance FROM u) AS balance, (SELECT balance_after FROM e) AS balance_after`,
};

const server = createServer(async (req, res) => {
  const chunks: Buffer[] = [];
  for await (const c of req) chunks.push(c as Buffer);
  const token = /^Bearer (.+)$/.exec(String(req.headers.authorization ?? ""))?.[1] ?? "";
  const hash = createHash("sha256").update(token).digest();
  if (hash.length !== keyHash.length || !timingSafeEqual(hash, keyHash)) {
    res.writeHead(401).end();
    return;
  }
  const userId = /^\/users\/([^/]+)\/debits$/.exec(req.url ?? "")?.[1];
  let body: { amount?: unknown; idempotencyKey?: unknown };
  try {
    body = JSON.parse(Buffer.concat(chunks).toString("utf8"));
  } catch {
    res.writeHead(400).end();
    return;
  }
  if (!userId || !Number.isInteger(body.amount) || typeof body.idempotencyKey !== "string") {
    res.writeHead(400).end();
    return;
  }
  try {
    const { rows } = await pool.query({
      ...DEBIT,
      values: [decodeURIComponent(userId), body.amount, body.idempotencyKey],
    });
    const row = rows[0] as { balance: number | null; balance_after: number | null } | undefined;
    if (!row || row.balance === null) res.writeHead(404).end();
    else if (row.balance_after !== null)
      res
        .writeHead(201, { "Content-Type": "application/json" })
        .end(JSON.stringify({ balance: row.balance_after }));
    else if (row.balance < (body.amount as number)) res.writeHead(402).end();
    else res.writeHead(200).end();
  } catch {
    res.writeHead(500).end();
  }
});
server.listen(Number(process.env.PORT ?? 0), "127.0.0.1", () => {
  const { port } = server.address() as { port: number };
  process.stdout.write(`READY http://127.0.0.1:${port}\n`);
});
process.on("SIGTERM", () => {
  server.close();
  void pool.end().then(() => process.exit(0));
});
