import type { LoaderFunctionArgs } from "@remix-run/node";
import { csvResponse, csvStream, exportFilename } from "~/services/admin/csv.server";
import { parseValues, toValues } from "~/services/admin/forms.server";
import { writeAudit } from "~/services/audit.server";
import { ACCESS } from "~/services/admin/permissions";
import {
  PURCHASE_CSV_COLUMNS,
  purchaseBatches,
  purchaseFiltersSchema,
} from "~/services/admin/purchases-query.server";
import { requireStaff } from "~/services/auth/session.server";
import { clientIp } from "~/services/request.server";

/**
 * Every purchase matching the page's filters, streamed as CSV (see csv.server.ts for the format).
 * A resource route: it renders nothing, so failures (403, bad filter) go back as plain-text responses.
 */
export async function loader({ request, context }: LoaderFunctionArgs) {
  const staff = await requireStaff(request, { roles: ACCESS.exports });
  const url = new URL(request.url);
  const parsed = parseValues(purchaseFiltersSchema, toValues(url.searchParams));
  if (!parsed.ok) {
    const [field, message] = Object.entries(parsed.fieldErrors)[0];
    throw new Response(`Export filter “${field}”: ${message}`, { status: 400 });
  }
  // Exports of customer data are recorded like changes: who took what, when.
  await writeAudit({
    actor: { type: "staff", id: staff.id, label: staff.email, ip: clientIp(context) },
    action: "export.purchases",
    targetType: "purchases",
    after: { filters: parsed.data },
  });
  const stream = csvStream(PURCHASE_CSV_COLUMNS, purchaseBatches(parsed.data), {
    bom: url.searchParams.get("bom") === "1",
  });
  return csvResponse(stream, exportFilename("purchases"));
}
