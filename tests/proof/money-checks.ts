import { getDb } from "../../app/services/infra/db.server";
import { verifyLedger } from "../../app/services/ledger-verify.server";
import { STARTING_GRANT, type ProofWorld } from "../support/proof-harness";
import {
  creditedSession,
  expectedBalance,
  expectedTier,
  takenBack,
  type MoneyModel,
} from "./money-model";

/**
 * The four claims of the proof, checked after the run's one reconciliation. Each returns
 * readable lines (empty = holds), so a failure says what differs, by how much, and why the model
 * expected what it did.
 */
export async function checkWorld(model: MoneyModel, world: ProofWorld): Promise<string[]> {
  return [
    ...(await checkBalances(model, world)),
    ...(await checkLedgerVerify()),
    ...(await checkDeliveriesRecorded(model, world)),
    ...(await checkCreditedOnce(model)),
  ];
}

/** Σ credits per user = grant + Σ paid − clawed back − debited, exactly; tiers follow subscriptions. */
async function checkBalances(model: MoneyModel, world: ProofWorld): Promise<string[]> {
  const rows = await getDb().user.findMany({
    where: { id: { in: world.users.map((u) => u.id) } },
    select: { id: true, balance: true, tierCode: true },
  });
  const sums = await getDb().ledgerEntry.groupBy({
    by: ["userId"],
    where: { userId: { in: world.users.map((u) => u.id) } },
    _sum: { delta: true },
  });
  const problems: string[] = [];
  world.users.forEach((u, i) => {
    const row = rows.find((r) => r.id === u.id);
    const sum = sums.find((s) => s.userId === u.id)?._sum.delta ?? 0;
    const want = expectedBalance(model, i, STARTING_GRANT);
    if (!row || row.balance !== want || sum !== want) {
      const lines = model.sessions
        .filter((s) => s.user === i && creditedSession(s))
        .map(
          (s) =>
            `${s.id}: +${s.credits} −${takenBack(s, model.mutation)} (refunded ${s.refunded}/${s.amount}` +
            `${s.dispute ? `, dispute ${s.dispute.status}` : ""})`,
        );
      problems.push(
        `user${i} (${u.id}): balance ${row?.balance} (Σ ledger ${sum}), expected ${want} = ` +
          `${STARTING_GRANT} granted − ${model.debited[i]} debited` +
          (lines.length ? ` and ${lines.join("; ")}` : ""),
      );
    }
    const tier = expectedTier(model, i);
    if (row && row.tierCode !== tier)
      problems.push(`user${i} (${u.id}): tier ${row.tierCode}, expected ${tier}`);
  });
  return problems;
}

async function checkLedgerVerify(): Promise<string[]> {
  const result = await verifyLedger();
  return result.violations.map(
    (v) =>
      `ledger verify ${v.check}: ${v.detail} (user ${v.userId ?? "-"}, purchase ${v.purchaseId ?? "-"})`,
  );
}

/**
 * Every delivery that reached the endpoint (the emulator got an HTTP answer) is a webhook_deliveries
 * row: per event for correctly signed ones (plus the test's own redeliveries), and as many
 * invalid-signature rows as wrong-secret attempts. Attempts that could not connect (the server was
 * down) reached nobody and are retried by the emulator, as Stripe does.
 */
async function checkDeliveriesRecorded(model: MoneyModel, world: ProofWorld): Promise<string[]> {
  const expected = new Map<string, number>(model.redelivered);
  let wrongSecret = 0;
  for (const d of world.emu.control.deliveries()) {
    for (const a of d.attempts) {
      if (a.status === null) continue;
      if (a.signature === "wrong_secret") wrongSecret += 1;
      else expected.set(d.eventId, (expected.get(d.eventId) ?? 0) + 1);
    }
  }
  const rows = await getDb().webhookDelivery.groupBy({
    by: ["eventId", "signatureStatus"],
    _count: { _all: true },
  });
  const problems: string[] = [];
  const invalid = rows
    .filter((r) => r.signatureStatus !== "valid")
    .reduce((n, r) => n + r._count._all, 0);
  if (invalid !== wrongSecret)
    problems.push(
      `deliveries: ${invalid} refused-signature rows recorded, the emulator had ${wrongSecret} wrong-secret attempts answered`,
    );
  const recorded = new Map<string, number>();
  for (const r of rows)
    if (r.signatureStatus === "valid" && r.eventId) recorded.set(r.eventId, r._count._all);
  for (const id of new Set([...expected.keys(), ...recorded.keys()])) {
    const want = expected.get(id) ?? 0;
    const got = recorded.get(id) ?? 0;
    if (want !== got) problems.push(`deliveries of ${id}: ${got} recorded, ${want} answered`);
  }
  return problems;
}

/** One purchase and one `checkout:` entry per paid, attributable pack session; none for others. */
async function checkCreditedOnce(model: MoneyModel): Promise<string[]> {
  const db = getDb();
  const ids = model.sessions.map((s) => s.id);
  const purchases = await db.purchase.findMany({
    where: { checkoutSessionId: { in: ids } },
    select: { checkoutSessionId: true, userId: true, credits: true },
  });
  const entries = await db.ledgerEntry.findMany({
    where: { kind: "purchase" },
    select: { idempotencyKey: true, purchaseId: true, userId: true, delta: true },
  });
  const allPurchases = await db.purchase.count();
  const problems: string[] = [];
  for (const s of model.sessions) {
    const mine = purchases.filter((p) => p.checkoutSessionId === s.id);
    const keyed = entries.filter((e) => e.idempotencyKey === `checkout:${s.id}`);
    const want = creditedSession(s) ? 1 : 0;
    if (mine.length !== want || keyed.length !== want)
      problems.push(
        `${s.id} (${s.user === null ? "stranger" : `user${s.user}`}, ${s.kind}, ${s.pay}): ` +
          `${mine.length} purchases and ${keyed.length} checkout entries, expected ${want}`,
      );
    if (want && mine[0] && mine[0].credits !== s.credits)
      problems.push(`${s.id}: purchase of ${mine[0].credits} credits, expected ${s.credits}`);
    if (want && keyed[0] && keyed[0].delta !== s.credits)
      problems.push(`${s.id}: checkout entry of ${keyed[0].delta} credits, expected ${s.credits}`);
  }
  const expectedCount = model.sessions.filter(creditedSession).length;
  if (allPurchases !== expectedCount)
    problems.push(`${allPurchases} purchases in the database, expected ${expectedCount}`);
  if (entries.length !== expectedCount)
    problems.push(`${entries.length} purchase ledger entries, expected ${expectedCount}`);
  return problems;
}
