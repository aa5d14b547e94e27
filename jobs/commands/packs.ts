import { syncPacks } from "../../app/services/packs.server";
import type { CliCommand } from "../cli-kit";

export const packsSyncCommand: CliCommand = {
  name: "packs sync",
  summary: "Mirror Stripe prices that carry metadata.credits into credit packs",
  help: `Usage: npm run cli -- packs sync [--json]

Lists every Stripe price (active and inactive) and mirrors those with metadata.credits into
credit packs: new prices become packs, changed ones are updated, packs whose price is inactive
or lost metadata.credits are deactivated. metadata.tier names the tier a pack grants (it must
exist). Exits 1 when any price could not be mirrored.`,
  options: {},
  needsDatabase: true,
  async run(ctx) {
    const report = await syncPacks();
    if (ctx.json) ctx.emit(report);
    ctx.say(
      `Packs synced from ${report.pricesSeen} Stripe price(s): ${report.created.length} created, ${report.updated.length} updated, ` +
        `${report.deactivated.length} deactivated, ${report.unchanged} unchanged, ${report.errors.length} error(s).`,
    );
    for (const id of report.created) ctx.say(`  created     ${id}`);
    for (const id of report.updated) ctx.say(`  updated     ${id}`);
    for (const id of report.deactivated) ctx.say(`  deactivated ${id}`);
    for (const e of report.errors) ctx.say(`  error       ${e.priceId}: ${e.error}`);
    return report.errors.length > 0 ? 1 : 0;
  },
};
