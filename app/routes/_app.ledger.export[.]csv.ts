import type { LoaderFunctionArgs } from "@remix-run/node";
import { csvResponse, csvStream, exportFilename } from "~/services/admin/csv.server";
import { parseValues, toValues } from "~/services/admin/forms.server";
import {
  LEDGER_CSV_COLUMNS,
  ledgerBatches,
  ledgerFiltersSchema,
} from "~/services/admin/ledger-query.server";
import { ACCESS } from "~/services/admin/permissions";
import { writeAudit } from "~/services/audit.server";
import { requireStaff } from "~/services/auth/session.server";
import { clientIp } from "~/services/request.server";

/**
 * Every ledger entry matching the explorer's filters, streamed as CSV (see csv.server.ts).
 * A resource route: it renders nothing, so failures (403, bad filter) go back as plain-text responses.
 */
export async function loader({ request, context }: LoaderFunctionArgs) {
  const staff = await requireStaff(request, { roles: ACCESS.exports });
  const url = new URL(request.url);
  const parsed = parseValues(ledgerFiltersSchema, toValues(url.searchParams));
  if (!parsed.ok) {
    const [field, message] = Object.entries(parsed.fieldErrors)[0];
    throw new Response(`Export filter “${field}”: ${message}`, { status: 400 });
  }
  await writeAudit({
    actor: { type: "staff", id: staff.id, label: staff.email, ip: clientIp(context) },
    action: "export.ledger",
    targetType: "ledger",
    after: { filters: parsed.data },
  });
  const stream = csvStream(LEDGER_CSV_COLUMNS, ledgerBatches(parsed.data), {
    bom: url.searchParams.get("bom") === "1",
  });
  return csvResponse(stream, exportFilename("ledger"));
}
