/**
 * The yardstick: a bare Node HTTP server that verifies the signature with the SDK's
 * constructEvent and stores the event with one INSERT … ON CONFLICT DO NOTHING. Everything the
 * real endpoint does beyond this (delivery log, fulfillment, Stripe call, ledger) is its cost.
 */
import { createServer } from "node:http";
import pg from "pg";
import Stripe from "stripe";

const secret = process.env.STRIPE_WEBHOOK_SECRET ?? "";
const pool = new pg.Pool({ connectionString: process.env.DATABASE_URL, max: 10 });
await pool.query(
  "CREATE TABLE IF NOT EXISTS baseline_events (id text PRIMARY KEY, type text NOT NULL, payload jsonb NOT NULL)",
);

const server = createServer(async (req, res) => {
  const chunks: Buffer[] = [];
  for await (const c of req) chunks.push(c as Buffer);
  const body = Buffer.concat(chunks);
  let event: Stripe.Event;
  try {
    event = Stripe.webhooks.constructEvent(
      body,
      String(req.headers["stripe-signature"] ?? ""),
      secret,
      300,
    );
  } catch {
    res.writeHead(400).end();
    return;
  }
  await pool.query(
    "INSERT INTO baseline_events (id, type, payload) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING",
    [event.id, event.type, body.toString("utf8")],
  );
  res.writeHead(200, { "Content-Type": "application/json" }).end('{"received":true}');
});
server.listen(Number(process.env.PORT ?? 0), "127.0.0.1", () => {
  const { port } = server.address() as { port: number };
  process.stdout.write(`READY http://127.0.0.1:${port}\n`);
});
process.on("SIGTERM", () => {
  server.close();
  void pool.end().then(() => process.exit(0));
});
