import { verifyLedger } from "../../app/services/ledger-verify.server";
import type { CliCommand } from "../cli-kit";

export const ledgerVerifyCommand: CliCommand = {
  name: "ledger verify",
  summary: "Check the ledger's invariants; exits 1 and lists each violation if any fails",
  help: `Usage: npm run cli -- ledger verify [--json]

Checks: balance cache = sum of deltas = last balanceAfter; seq gapless per user; every paid
purchase has exactly one purchase entry; clawbacks never exceed the purchase's credits; and the
credit grants underneath (docs/credits.md "Grants"): balance = Σ grant remaining − debt, every
entry's allocations sum to its delta, each grant's remaining = Σ its allocations (0…granted), no
allocation after a grant's expiry, value granted = consumed + expired + clawed back + remaining.`,
  options: {},
  needsDatabase: true,
  async run(ctx) {
    const result = await verifyLedger();
    if (ctx.json) ctx.emit(result);
    if (result.ok) ctx.say(`Ledger OK: ${result.usersChecked} users checked, no violations.`);
    else {
      ctx.say(`Ledger has ${result.violations.length} violation(s):`);
      for (const v of result.violations) {
        ctx.say(
          `  [${v.check}] ${v.userId ? `user ${v.userId} ` : ""}${v.purchaseId ? `purchase ${v.purchaseId} ` : ""}${v.detail}`,
        );
      }
    }
    return result.ok ? 0 : 1;
  },
};
