import { getDb } from "../../app/services/infra/db.server";
import { getEnv } from "../../app/services/infra/env.server";
import { resetDemoData } from "../../app/services/demo/reset.server";
import { readSeedState } from "../../app/services/demo/seed-state.server";
import type { CliCommand } from "../cli-kit";

export const demoResetCommand: CliCommand = {
  name: "demo reset",
  summary:
    "Delete the demo's database, Stripe emulator state and login so the next start seeds again",
  help: `Usage: npm run cli -- demo reset [--force] [--json]

Demo mode only (no STRIPE_SECRET_KEY, NODE_ENV not production) on the embedded database.
Deletes, inside DATA_DIR: the database (pglite/), the Stripe emulator's state
(stripe-emulator.json), the session secret (session-secret) and the demo login
(demo-login.json). The next \`npm start\` creates a new demo admin and seeds new demo data.

It deletes the files a running server holds, so it is the one command that needs the server
stopped: it refuses while creditdesk runs on DATA_DIR (stop it first; every other command works
beside a running server). It also refuses on Postgres (DATABASE_URL), and when DATA_DIR holds a
database without demo Stripe data beside it (--force deletes it anyway).`,
  options: { force: { type: "boolean" } },
  needsDatabase: false,
  async run(ctx) {
    const report = resetDemoData(getEnv(), { force: Boolean(ctx.values.force) });
    if (ctx.json) ctx.emit({ ok: true, ...report });
    if (report.removed.length === 0) ctx.say(`Nothing to delete in ${report.dataDir}.`);
    else {
      ctx.say(`Deleted from ${report.dataDir}:`);
      for (const item of report.removed) ctx.say(`  ${item}`);
    }
    ctx.say("The next `npm start` creates a new demo admin and seeds the demo data again.");
    return 0;
  },
};

export const demoStatusCommand: CliCommand = {
  name: "demo status",
  summary: "Show whether demo data was seeded, what the seeding did on purpose, and row counts",
  help: `Usage: npm run cli -- demo status [--json]

Prints the demo seed marker (running, done or failed; when done, what it created and what it
dropped on purpose — e.g. the purchases whose webhooks were lost, which the first reconciliation
should credit) and the number of users, purchases, ledger entries and open attention items.`,
  options: {},
  needsDatabase: true,
  async run(ctx) {
    const db = getDb();
    const [seed, users, purchases, ledgerEntries, openAttention, staff] = await Promise.all([
      readSeedState(),
      db.user.count(),
      db.purchase.count(),
      db.ledgerEntry.count(),
      db.attentionItem.count({ where: { status: "open" } }),
      db.staffUser.count(),
    ]);
    const counts = { users, purchases, ledgerEntries, openAttention, staff };
    if (ctx.json) {
      ctx.emit({ demoMode: getEnv().demoMode, seed, counts });
      return 0;
    }
    ctx.say(
      `Demo mode: ${getEnv().demoMode ? "yes" : "no (STRIPE_SECRET_KEY is set or NODE_ENV=production)"}`,
    );
    if (!seed)
      ctx.say("Demo data: not seeded (it is seeded on the first `npm start` in demo mode).");
    else if (seed.status === "done") {
      const e = seed.expected;
      ctx.say(`Demo data: seeded ${seed.finishedAt} in ${(seed.durationMs / 1000).toFixed(1)} s`);
      ctx.say(
        `  ${e.users} users, ${e.purchasesPlanned} purchases paid in Stripe, ${e.purchasesCreditedByWebhook} credited by webhooks`,
      );
      ctx.say(
        `  ${e.droppedPurchases} purchases with dropped webhooks (reconciliation credits them)`,
      );
      ctx.say(
        `  ${e.unmatchedSessions} paid sessions matching no user, ${e.refunds} refunds, ${e.disputes} dispute(s)`,
      );
      ctx.say(
        `  ${e.subscriptions} Pro subscriptions (${e.subscriptionCancellations} cancelled), ${e.usageDebits} usage debits`,
      );
    } else
      ctx.say(
        `Demo data: seeding ${seed.status} (started ${seed.startedAt}); start over with \`npm run cli -- demo reset\`.`,
      );
    ctx.say(
      `Rows: ${users} users, ${purchases} purchases, ${ledgerEntries} ledger entries, ${openAttention} open attention items, ${staff} staff.`,
    );
    return 0;
  },
};
