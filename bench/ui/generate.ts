/**
 * Large-data generator for the dashboard benchmark: users, a consistent ledger, purchases, daily
 * rollups and a day of webhook deliveries, written straight into a migrated Postgres database.
 *
 * Rows are produced by Postgres itself in batched `INSERT … SELECT generate_series(…)` statements
 * (one round trip per batch of users), into the real tables with every index, foreign key and
 * trigger in place. Values follow closed formulas, so the ledger is consistent without a second
 * pass: for a user with k entries, entry 1 is the purchase (c credits), then usage (−20) and
 * grants (+50) alternate, so balance_after(j) = c + 50·⌊(j−1)/2⌋ − 20·⌊j/2⌋ ≥ 0, seq is gapless,
 * and users.balance / last_seq equal the last entry's balance_after / seq (`ledger verify` agrees).
 *
 *   npx tsx bench/ui/generate.ts postgresql://…/db [--users 1000000] [--entries 5000000]
 */
import type pg from "pg";

/** Anything that runs a query: a client, or a pool (batches then run on several connections). */
type Queryable = Pick<pg.Pool, "query">;

export interface GenerateOptions {
  users: number;
  /** Total ledger entries (at least one per user: their purchase). */
  entries: number;
  /** Entries of user 1, the "heavy" user whose detail page is measured. */
  heavyEntries: number;
  /** Users per INSERT batch. */
  batch: number;
  /** "Now" for the data: purchases spread over the year before it. */
  now: Date;
  log?: (line: string) => void;
}

export const DEFAULTS: GenerateOptions = {
  users: 1_000_000,
  entries: 5_000_000,
  heavyEntries: 10_000,
  batch: 100_000,
  now: new Date(),
};

export const HEAVY_USER_ID = "u0000001";
export const userId = (i: number) => `u${String(i).padStart(7, "0")}`;

export interface GenerateResult {
  users: number;
  purchases: number;
  entries: number;
  seconds: Record<string, number>;
}

export async function generate(
  client: Queryable,
  partial: Partial<GenerateOptions> = {},
): Promise<GenerateResult> {
  const o = { ...DEFAULTS, ...partial };
  const log = o.log ?? (() => {});
  if (o.entries < o.users - 1 + o.heavyEntries)
    throw new Error("entries must give every user at least one entry");
  const rest = o.entries - o.heavyEntries;
  const base = Math.floor(rest / (o.users - 1));
  const extra = rest - base * (o.users - 1);
  const now = o.now.toISOString();
  const seconds: Record<string, number> = {};
  const timed = async (name: string, work: () => Promise<unknown>) => {
    const t = performance.now();
    await work();
    seconds[name] = (seconds[name] ?? 0) + (performance.now() - t) / 1000;
  };

  // Per-user facts as SQL expressions of i (the user number), shared by every statement.
  const k = `(CASE WHEN i = 1 THEN ${o.heavyEntries} ELSE ${base} + (CASE WHEN i - 2 < ${extra} THEN 1 ELSE 0 END) END)`;
  const credits = `((ARRAY[500, 1000, 2000])[i % 3 + 1])`;
  const balanceAfter = (j: string) => `(${credits} + 50 * ((${j} - 1) / 2) - 20 * (${j} / 2))`;
  // Purchase time: spread evenly over the 365 days before "now", user by user, so the tables are in
  // time order on disk as an append-only system writes them (user N bought most recently). The
  // heavy user bought 60 days ago so its 10,000 entries fit before now.
  const step = (365 * 86400) / o.users;
  const boughtAt = `(CASE WHEN i = 1 THEN timestamptz '${now}' - interval '60 days'
    ELSE timestamptz '${now}' - ((${o.users} - i) * ${step}) * interval '1 second' - interval '10 minutes' END)`;

  await timed("packs", () =>
    client.query(`
      INSERT INTO credit_packs (id, stripe_price_id, stripe_product_id, name, credits, unit_amount, currency, updated_at)
      VALUES ('pack-500', 'price_bench_500', 'prod_bench_500', 'Starter', 500, 999, 'usd', now()),
             ('pack-1000', 'price_bench_1000', 'prod_bench_1000', 'Plus', 1000, 1799, 'usd', now()),
             ('pack-2000', 'price_bench_2000', 'prod_bench_2000', 'Team', 2000, 2999, 'usd', now())
      ON CONFLICT DO NOTHING`),
  );

  const insertUsers = (from: number) => {
    const to = Math.min(o.users, from + o.batch - 1);
    return timed("users", () =>
      client.query(`
        INSERT INTO users (id, email, email_normalized, name, tier_code, stripe_customer_id, balance, last_seq, created_at, updated_at)
        SELECT 'u' || lpad(i::text, 7, '0'),
          substr(md5('e' || i), 1, 6) || '.' || i || '@Example-' || (i % 97) || '.com',
          substr(md5('e' || i), 1, 6) || '.' || i || '@example-' || (i % 97) || '.com',
          initcap(substr(md5('n' || i), 1, 5)) || ' ' || initcap(substr(md5('s' || i), 1, 7)),
          (ARRAY['free', 'free', 'free', 'pro', 'business'])[i % 5 + 1],
          'cus_' || substr(md5('c' || i), 1, 14),
          ${balanceAfter(k)}, ${k}, ${boughtAt} - interval '1 day', now()
        FROM generate_series(${from}, ${to}) i`),
    );
  };
  const insertPurchases = (from: number) => {
    const to = Math.min(o.users, from + o.batch - 1);
    return timed("purchases", () =>
      client.query(`
        INSERT INTO purchases (id, checkout_session_id, payment_intent_id, charge_id, stripe_customer_id, user_id, pack_id,
          quantity, credits, amount_total, currency, status, credited_via, user_resolved_by, livemode, lines,
          stripe_created_at, paid_at, created_at, updated_at)
        SELECT md5('p' || i)::uuid::text, 'cs_bench_' || i, 'pi_bench_' || i, 'ch_bench_' || i, 'cus_' || substr(md5('c' || i), 1, 14),
          'u' || lpad(i::text, 7, '0'), (ARRAY['pack-500', 'pack-1000', 'pack-2000'])[i % 3 + 1],
          1, ${credits}, (ARRAY[999, 1799, 2999])[i % 3 + 1], CASE WHEN i % 10 = 0 THEN 'eur' ELSE 'usd' END,
          'paid', (CASE WHEN i % 100 = 0 THEN 'reconciliation' WHEN i % 250 = 0 THEN 'manual' ELSE 'webhook' END)::"CreditedVia",
          'client_reference_id', false,
          jsonb_build_array(jsonb_build_object('priceId', 'price_bench_' || ${credits}, 'quantity', 1, 'credits', ${credits})),
          ${boughtAt} - interval '5 seconds', ${boughtAt} - interval '2 seconds', ${boughtAt}, ${boughtAt}
        FROM generate_series(${from}, ${to}) i`),
    );
  };
  const insertLedger = (from: number) => {
    const to = Math.min(o.users, from + o.batch - 1);
    return timed("ledger", () =>
      client.query(`
        INSERT INTO ledger_entries (user_id, seq, delta, balance_after, kind, idempotency_key, payload_hash, purchase_id,
          reason, created_at)
        SELECT 'u' || lpad(i::text, 7, '0'), j,
          CASE WHEN j = 1 THEN ${credits} WHEN j % 2 = 0 THEN -20 ELSE 50 END,
          ${balanceAfter("j")},
          (CASE WHEN j = 1 THEN 'purchase' WHEN j % 2 = 0 THEN 'usage' ELSE 'grant' END)::"LedgerKind",
          CASE WHEN j = 1 THEN 'checkout:cs_bench_' || i ELSE 'bench:' || i || ':' || j END,
          'bench',
          CASE WHEN j = 1 THEN md5('p' || i)::uuid::text END,
          CASE WHEN j = 1 THEN 'Checkout Session cs_bench_' || i WHEN j % 2 = 0 THEN 'API usage' ELSE 'Monthly bonus' END,
          LEAST(timestamptz '${now}', ${boughtAt} + (j - 1) * interval '37 seconds')
        FROM generate_series(${from}, ${to}) i
        CROSS JOIN LATERAL generate_series(1, ${k}) j`),
    );
  };

  // Foreign keys order the work: a batch's users, then its purchases, then its ledger (entry 1
  // references the purchase). The next batch's users and purchases are written while this batch's
  // ledger is, on other connections when `client` is a pool.
  await insertUsers(1);
  await insertPurchases(1);
  for (let from = 1; from <= o.users; from += o.batch) {
    const next = from + o.batch;
    await Promise.all([
      insertLedger(from),
      next <= o.users ? insertUsers(next).then(() => insertPurchases(next)) : null,
    ]);
    log(
      `  users ${Math.min(o.users, next - 1).toLocaleString("en-US")} / ${o.users.toLocaleString("en-US")}`,
    );
  }

  await timed("rollups", async () => {
    await client.query(`
      INSERT INTO daily_rollups (day, currency, revenue, purchases)
      SELECT (created_at AT TIME ZONE 'UTC')::date, currency, SUM(amount_total), COUNT(*) FROM purchases GROUP BY 1, 2
      ON CONFLICT (day, currency) DO UPDATE SET revenue = EXCLUDED.revenue, purchases = EXCLUDED.purchases`);
    await client.query(`
      INSERT INTO daily_rollups (day, currency, credits_issued, credits_consumed)
      SELECT (created_at AT TIME ZONE 'UTC')::date, '-',
        COALESCE(SUM(delta) FILTER (WHERE kind IN ('purchase', 'grant', 'manual_credit')), 0),
        COALESCE(SUM(-delta) FILTER (WHERE kind = 'usage'), 0)
      FROM ledger_entries GROUP BY 1
      ON CONFLICT (day, currency) DO UPDATE SET credits_issued = EXCLUDED.credits_issued, credits_consumed = EXCLUDED.credits_consumed`);
  });
  await timed("webhooks", () =>
    client.query(`
      INSERT INTO webhook_deliveries (received_at, signature_status, outcome, event_type, response_status, duration_ms, body_sha256, body_size)
      SELECT timestamptz '${now}' - (g * 8) * interval '1 second',
        (CASE WHEN g % 200 = 0 THEN 'invalid' ELSE 'valid' END)::"SignatureStatus",
        CASE WHEN g % 200 = 0 THEN 'invalid_signature' WHEN g % 9 = 0 THEN 'duplicate' WHEN g % 13 = 0 THEN 'ignored' ELSE 'processed' END,
        'checkout.session.completed', CASE WHEN g % 200 = 0 THEN 400 ELSE 200 END, 12, md5(g::text), 2400
      FROM generate_series(1, 20000) g`),
  );
  await timed("vacuum analyze", async () => {
    for (const table of [
      "users",
      "purchases",
      "ledger_entries",
      "daily_rollups",
      "webhook_deliveries",
      "credit_packs",
    ]) {
      await client.query(`VACUUM (ANALYZE) ${table}`);
    }
  });
  const count = async (table: string) =>
    Number((await client.query(`SELECT COUNT(*) AS n FROM ${table}`)).rows[0].n);
  return {
    users: await count("users"),
    purchases: await count("purchases"),
    entries: await count("ledger_entries"),
    seconds,
  };
}

// CLI: generate into an existing, migrated database.
if (process.argv[1] && import.meta.url === new URL(`file://${process.argv[1]}`).href) {
  const { parseArgs } = await import("node:util");
  const { default: pgModule } = await import("pg");
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: { users: { type: "string" }, entries: { type: "string" } },
  });
  if (!positionals[0])
    throw new Error("usage: npx tsx bench/ui/generate.ts postgresql://… [--users N] [--entries N]");
  const client = new pgModule.Client({ connectionString: positionals[0] });
  await client.connect();
  try {
    const result = await generate(client, {
      ...(values.users ? { users: Number(values.users) } : {}),
      ...(values.entries ? { entries: Number(values.entries) } : {}),
      log: (l) => console.error(l),
    });
    console.log(JSON.stringify(result, null, 2));
  } finally {
    await client.end();
  }
}
