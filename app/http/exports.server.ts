import type { Express, Request as ExpressRequest, Response as ExpressResponse } from "express";
import type { z } from "zod";
import { BOM, csvHeaders, exportFilename, periodFilename } from "~/services/admin/csv.server";
import { reportZone } from "~/services/infra/env.server";
import { parseValues, toValues } from "~/services/admin/forms.server";
import { ledgerFiltersSchema } from "~/services/admin/ledger-query.server";
import { ACCESS } from "~/shared/permissions";
import { purchaseFiltersSchema } from "~/services/admin/purchases-query.server";
import { writeAudit } from "~/services/audit.server";
import { requireStaff } from "~/services/auth/session.server";
import { logger, scrubSecrets } from "~/services/infra/logger.server";
import { DomainError } from "~/services/errors.server";
import { ledgerCsv, purchasesCsv, type CsvExport } from "~/services/exports/csv-export.server";
import {
  disputesCsv,
  monthCloseCsv,
  refundsCsv,
  resolveMonth,
} from "~/services/exports/finance-csv.server";
import { monthCloseSearchSchema } from "~/services/finance/month-close.server";
import { statementCsv, statementPeriodSchema } from "~/services/statements.server";

/**
 * The CSV exports (GET /purchases/export.csv, GET /ledger/export.csv, and one user's statement,
 * GET /users/:userId/statement.csv), served by Express
 * itself rather than as Remix resource routes; server.ts mounts them through app/http/app.server.ts.
 *
 * Why: Remix 2's Express adapter copies a streamed body into the socket without waiting for it to
 * drain, so a client slower than the database makes the server buffer the export in memory. Here
 * every batch is written with `res.write` and the next one waits for 'drain' when the socket is
 * full; the database is read only as fast as the client takes the file. (docs/dashboard.md)
 *
 * Same rules as every dashboard route: the signed-in staff check and role list of `requireStaff`
 * (anonymous → redirect to /login, wrong role → 403), the filters validated by the page's zod
 * schema (400 with the field's message), and an audit record of who exported what.
 */

interface ExportRoute<S extends z.ZodType> {
  path: string;
  /** Audit action and target type. */
  action: string;
  targetType: string;
  filename: string;
  /** The download's name, from the kind and the validated filter (periodFilename). */
  name?: (filters: z.output<S>) => string;
  schema: S;
  /** The route's path params (`:userId`), for an export of one thing. */
  open: (filters: z.output<S>, params: Record<string, string>) => CsvExport | Promise<CsvExport>;
  /** The audit record's target id, when the export is of one thing. */
  targetId?: (params: Record<string, string>) => string;
}

const ROUTES = [
  {
    path: "/purchases/export.csv",
    action: "export.purchases",
    targetType: "purchases",
    filename: "purchases",
    name: (f) => periodFilename("purchases", f, reportZone()),
    schema: purchaseFiltersSchema,
    open: (filters) => purchasesCsv(filters),
  } satisfies ExportRoute<typeof purchaseFiltersSchema>,
  {
    path: "/ledger/export.csv",
    action: "export.ledger",
    targetType: "ledger",
    filename: "ledger",
    name: (f) => periodFilename("ledger", f, reportZone()),
    schema: ledgerFiltersSchema,
    open: (filters) => ledgerCsv(filters),
  } satisfies ExportRoute<typeof ledgerFiltersSchema>,
  {
    path: "/finance/close/export.csv",
    action: "export.month_close",
    targetType: "finance",
    filename: "month-close",
    name: (f) => periodFilename("month-close", { month: resolveMonth(f.month) }, reportZone()),
    schema: monthCloseSearchSchema,
    open: (f) => monthCloseCsv(resolveMonth(f.month)),
  } satisfies ExportRoute<typeof monthCloseSearchSchema>,
  {
    path: "/finance/refunds/export.csv",
    action: "export.refunds",
    targetType: "finance",
    filename: "refunds",
    name: (f) => periodFilename("refunds", { month: resolveMonth(f.month) }, reportZone()),
    schema: monthCloseSearchSchema,
    open: (f) => refundsCsv(resolveMonth(f.month)),
  } satisfies ExportRoute<typeof monthCloseSearchSchema>,
  {
    path: "/finance/disputes/export.csv",
    action: "export.disputes",
    targetType: "finance",
    filename: "disputes",
    name: (f) => periodFilename("disputes", { month: resolveMonth(f.month) }, reportZone()),
    schema: monthCloseSearchSchema,
    open: (f) => disputesCsv(resolveMonth(f.month)),
  } satisfies ExportRoute<typeof monthCloseSearchSchema>,
  {
    // One user's statement: opening balance, the period's entries, closing balance.
    path: "/users/:userId/statement.csv",
    action: "export.statement",
    targetType: "user",
    filename: "statement",
    schema: statementPeriodSchema,
    open: (period, params) => statementCsv(params.userId, period),
    targetId: (params) => params.userId,
  } satisfies ExportRoute<typeof statementPeriodSchema>,
];

export const EXPORT_PATHS = ROUTES.map((r) => r.path);

/** Mount the CSV exports on the app (before the Remix handler and the compression middleware). */
export function mountExportRoutes(app: Express): void {
  for (const route of ROUTES as ExportRoute<z.ZodType>[]) {
    app.get(route.path, (req, res) => {
      serveExport(route, req, res).catch((error: unknown) => failed(res, error));
    });
  }
}

/** Send a Response that `requireStaff` threw (redirect to /login, 403) as Remix would. */
async function sendResponse(res: ExpressResponse, response: Response) {
  res.status(response.status);
  for (const [key, value] of response.headers) if (key !== "set-cookie") res.setHeader(key, value);
  const cookies = response.headers.getSetCookie();
  if (cookies.length) res.setHeader("Set-Cookie", cookies);
  res.end(Buffer.from(await response.arrayBuffer()));
}

function failed(res: ExpressResponse, error: unknown) {
  logger.error(
    { err: scrubSecrets((error as Error)?.message ?? String(error)) },
    "CSV export failed",
  );
  if (!res.headersSent) {
    res.status(500).type("text/plain; charset=utf-8").send("The export failed. Please try again.");
  } else {
    // Part of the file is out: cut the connection so the client sees an incomplete download
    // (no final chunk) instead of a file that looks complete.
    res.destroy();
  }
}

async function serveExport(
  route: ExportRoute<z.ZodType>,
  req: ExpressRequest,
  res: ExpressResponse,
): Promise<void> {
  const url = new URL(req.originalUrl, "http://localhost");
  const request = new Request(url, {
    headers: req.headers.cookie ? { Cookie: req.headers.cookie } : {},
  });
  let staff;
  try {
    staff = await requireStaff(request, { roles: ACCESS.exports });
  } catch (thrown) {
    if (thrown instanceof Response) return sendResponse(res, thrown);
    throw thrown;
  }
  const parsed = parseValues(route.schema, toValues(url.searchParams));
  if (!parsed.ok) {
    const [field, message] = Object.entries(parsed.fieldErrors)[0];
    res.status(400).type("text/plain; charset=utf-8").send(`Export filter “${field}”: ${message}`);
    return;
  }
  const params = req.params as Record<string, string>;
  // Opened before anything is sent: an unknown user is a 404, not a 500 or an empty file.
  let csv: CsvExport;
  try {
    csv = await route.open(parsed.data, params);
  } catch (error) {
    if (!(error instanceof DomainError)) throw error;
    res.status(error.status).type("text/plain; charset=utf-8").send(error.message);
    return;
  }
  const headers = csvHeaders(route.name ? route.name(parsed.data) : exportFilename(route.filename));
  if (req.method === "HEAD") {
    await csv.batches.return(undefined);
    res.writeHead(200, headers);
    res.end();
    return;
  }
  // Exports of customer data are recorded like changes: who took what, when. Recorded before the
  // first byte goes out, so a failure here is a plain 500, never an export without its record.
  await writeAudit({
    actor: {
      type: "staff",
      id: staff.id,
      label: staff.email,
      ip: req.ip ?? req.socket.remoteAddress ?? "unknown",
    },
    action: route.action,
    targetType: route.targetType,
    ...(route.targetId ? { targetId: route.targetId(params) } : {}),
    // Every filter schema outputs flat objects of optional strings.
    after: { filters: parsed.data as Record<string, string | undefined> },
  });
  res.writeHead(200, headers);
  await writeExport(res, csv, url.searchParams.get("bom") === "1");
}

/**
 * Write the header and every batch, waiting for 'drain' whenever the socket's buffer is full, and
 * stop reading the database when the client goes away.
 */
export async function writeExport(
  res: ExpressResponse,
  csv: CsvExport,
  bom: boolean,
): Promise<void> {
  let gone = false;
  const onClose = () => {
    gone = true;
  };
  res.once("close", onClose);
  try {
    if (!res.write((bom ? BOM : "") + csv.header)) await drained(res);
    for await (const batch of csv.batches) {
      if (gone) break;
      if (!res.write(batch.text)) await drained(res);
      if (gone) break;
    }
    if (!gone) res.end();
  } finally {
    res.off("close", onClose);
    // Leaving the loop early (client gone, error) closes the generator: no further queries.
    await csv.batches.return(undefined);
  }
}

/** Resolves when the socket can take more, or when the connection closed (nothing more to write). */
function drained(res: ExpressResponse): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      res.off("drain", done);
      res.off("close", done);
      resolve();
    };
    res.on("drain", done);
    res.on("close", done);
  });
}
