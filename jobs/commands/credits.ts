import { expireDueGrants } from "../../app/services/grants/expiry.server";
import type { CliCommand } from "../cli-kit";

export const creditsExpireCommand: CliCommand = {
  name: "credits expire",
  summary: "Expire every credit grant past its expiry (one idempotent expiry entry per grant)",
  help: `Usage: npm run cli -- credits expire [--dry-run] [--json]

Posts one \`expiry\` ledger entry (key expiry:<grant id>) for every active grant whose expires_at
has passed with credits left, taking exactly what it has left, and marks it expired. Safe to run
at any time and beside the scheduler, which runs the same pass after each reconciliation.
--dry-run lists what would expire and writes nothing.`,
  options: { "dry-run": { type: "boolean" } },
  needsDatabase: true,
  async run(ctx) {
    const report = await expireDueGrants({ dryRun: ctx.values["dry-run"] === true });
    if (ctx.json) ctx.emit(report);
    const verb = report.dryRun ? "would expire" : "expired";
    ctx.say(`${report.grants.length} grant(s) ${verb}, ${report.credits} credit(s).`);
    for (const g of report.grants)
      ctx.say(
        `  grant ${g.grantId} user ${g.userId}: ${g.credits} credits (expired ${g.expiresAt})`,
      );
    return 0;
  },
};
