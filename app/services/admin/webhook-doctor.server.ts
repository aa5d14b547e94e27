import { Prisma } from "~/generated/prisma/client";
import { getDb } from "../infra/db.server";
import { getEnv } from "../infra/env.server";
import { logger, scrubSecrets } from "../infra/logger.server";
import {
  DELIVERY_FINDING_CODES,
  type DoctorEndpoint,
  type DoctorFinding,
} from "~/shared/webhook-doctor";
import {
  runWebhookDoctor,
  type DoctorReport as StripeDoctorReport,
} from "../reconciliation/index.server";
import { HANDLED_EVENT_TYPES } from "../webhooks/handlers.server";

/**
 * What the webhooks page shows above the deliveries: the one webhook doctor's report
 * (reconciliation/doctor.server.ts: Stripe's endpoint configuration, enabled events, undelivered
 * events), stored by the last run or checked live, plus the findings creditdesk can make from its
 * own delivery log (signature failures, stale timestamps, livemode mismatches, failed events) in
 * the same shape (~/shared/webhook-doctor), each with what to change.
 */

export type { DoctorFinding };

export interface DoctorReport {
  expectedUrl: string;
  listenCommand: string;
  handledTypes: readonly string[];
  checkedAt: Date | null;
  source: "live" | "last_run" | "none";
  endpoints: DoctorEndpoint[];
  findings: DoctorFinding[];
  error: string | null;
}

export function webhookUrl(): string {
  return `${getEnv().appUrl}/webhooks/stripe`;
}

export function listenCommand(): string {
  return `stripe listen --forward-to ${webhookUrl()} --events ${HANDLED_EVENT_TYPES.join(",")}`;
}

const DAY_MS = 24 * 60 * 60 * 1000;

/**
 * Checks made from creditdesk's own delivery records, always fresh. `withDeliveryChecks` adds the
 * ones the doctor also makes (signature failures, server errors, missing secret) when the doctor's
 * report is a stored one: the deliveries since then may tell a different story. The doctor does
 * not look at stale timestamps, livemode mismatches or events that failed with a 200.
 */
export async function localFindings(
  opts: { withDeliveryChecks: boolean },
  now = new Date(),
): Promise<DoctorFinding[]> {
  const since = new Date(now.getTime() - DAY_MS);
  const rows = await getDb().$queryRaw<{ outcome: string; server_error: boolean; n: bigint }[]>`
    SELECT outcome, response_status >= 500 AS server_error, count(*) AS n FROM webhook_deliveries
    WHERE received_at >= ${since} GROUP BY 1, 2`;
  const count = (o: string, serverError = false) =>
    rows
      .filter((r) => r.outcome === o && r.server_error === serverError)
      .reduce((n, r) => n + Number(r.n), 0);
  const findings: DoctorFinding[] = [];
  if (opts.withDeliveryChecks) {
    if (getEnv().webhookSecrets.length === 0) {
      findings.push({
        code: "no_signing_secret",
        severity: "error",
        title: "No webhook signing secret configured",
        detail:
          "STRIPE_WEBHOOK_SECRET is empty, so no delivery can be verified; every webhook is answered 503.",
        fix: `Copy the endpoint's signing secret (whsec_…) from Stripe → Developers → Webhooks → your endpoint → Signing secret, set STRIPE_WEBHOOK_SECRET and restart. For local development \`${listenCommand()}\` prints one.`,
      });
    }
    const invalid = count("invalid_signature");
    if (invalid > 0) {
      findings.push({
        code: "signing_secret_mismatch",
        severity: "error",
        title: `${invalid} webhook deliver${invalid === 1 ? "y" : "ies"} in the last 24 h had a signature no configured secret matches`,
        detail:
          "The sender signs with a secret creditdesk does not have (another endpoint, an old Stripe CLI session, a rotated secret), or someone posted unsigned requests.",
        fix:
          "Reveal the endpoint's signing secret in Stripe → Developers → Webhooks → endpoint → Signing secret and set it as STRIPE_WEBHOOK_SECRET " +
          `(comma-separate the old and new secrets while rotating). With the Stripe CLI use the whsec_… that \`${listenCommand()}\` prints.`,
      });
    }
    const serverErrors = rows.filter((r) => r.server_error).reduce((n, r) => n + Number(r.n), 0);
    if (serverErrors > 0) {
      findings.push({
        code: "delivery_failures",
        severity: "warning",
        title: `${serverErrors} webhook deliver${serverErrors === 1 ? "y" : "ies"} in the last 24 h were answered with a server error`,
        detail: "Stripe retries them, but they were not processed when they arrived.",
        fix: 'Filter the list below by outcome "failed" for the errors (database down, Stripe unreachable, missing secret) and fix the cause; Stripe\'s retries, a replay or the next reconciliation catch up.',
      });
    }
  }
  const stale = count("stale");
  if (stale > 0) {
    findings.push({
      code: "stale_deliveries",
      severity: "warning",
      title: `${stale} deliver${stale === 1 ? "y was" : "ies were"} refused as stale in the last 24 hours`,
      detail: "The signature timestamp was more than 5 minutes old.",
      fix: "Check that this server's clock is synchronised (NTP). Requests captured and resent later are refused on purpose.",
    });
  }
  const mismatch = count("livemode_mismatch");
  if (mismatch > 0) {
    findings.push({
      code: "livemode_mismatch",
      severity: "error",
      title: `${mismatch} event${mismatch === 1 ? "" : "s"} in the last 24 hours had the wrong mode (live vs test)`,
      detail:
        "Live events are refused by a server with a test key, and test events by one with a live key.",
      fix: "Point the live-mode endpoint at the server with the live key (sk_live_…) and the test-mode endpoint at the one with the test key.",
    });
  }
  const failed = count("failed");
  if (failed > 0) {
    findings.push({
      code: "failed_events",
      severity: "warning",
      title: `${failed} event${failed === 1 ? "" : "s"} failed while processing in the last 24 hours`,
      detail:
        "Stripe was answered 200 (retrying would not help) and each raised a failed-event item in the attention queue.",
      fix: "Open the failed deliveries below or the attention queue, fix the cause, then replay the event.",
    });
  }
  return findings;
}

/** A live check is reused for a few minutes, so opening the page does not call Stripe every time. */
const LIVE_TTL_MS = 5 * 60 * 1000;
let cached: { at: number; report: StripeDoctorReport } | null = null;

/** A page waits at most this long for Stripe; a slower check still finishes and fills the cache. */
export const LIVE_WAIT_MS = 5000;
let inFlight: Promise<StripeDoctorReport> | null = null;

async function liveDoctor(
  fresh: boolean,
): Promise<{ report: StripeDoctorReport; cached: boolean }> {
  if (!fresh && cached && Date.now() - cached.at < LIVE_TTL_MS) {
    return { report: cached.report, cached: true };
  }
  inFlight ??= runWebhookDoctor()
    .then((report) => {
      cached = { at: Date.now(), report };
      return report;
    })
    .finally(() => {
      inFlight = null;
    });
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () =>
        reject(
          new Error(
            `Stripe did not answer within ${LIVE_WAIT_MS / 1000} s; reload the page in a moment.`,
          ),
        ),
      LIVE_WAIT_MS,
    );
  });
  try {
    return { report: await Promise.race([inFlight, timeout]), cached: false };
  } finally {
    clearTimeout(timer);
  }
}

/** The last report a reconciliation run stored, when it is less than a day old. */
async function lastRunDoctor(): Promise<StripeDoctorReport | null> {
  const run = await getDb().reconciliationRun.findFirst({
    where: { doctor: { not: Prisma.AnyNull }, startedAt: { gte: new Date(Date.now() - DAY_MS) } },
    orderBy: [{ startedAt: "desc" }, { id: "desc" }],
    select: { doctor: true },
  });
  return (run?.doctor as unknown as StripeDoctorReport | null) ?? null;
}

/**
 * The doctor's findings for the webhooks page: the newest run's report (less than a day old) or
 * a live check (cached for five minutes); `fresh` asks Stripe now. Local findings are added.
 */
export async function getDoctorReport(opts: { fresh?: boolean } = {}): Promise<DoctorReport> {
  const base = {
    expectedUrl: webhookUrl(),
    listenCommand: listenCommand(),
    handledTypes: HANDLED_EVENT_TYPES,
  };
  let report: StripeDoctorReport | null = null;
  let source: DoctorReport["source"] = "none";
  let error: string | null = null;
  // A stored or cached report's delivery counts may be out of date; those checks are redone below.
  let stored = false;
  try {
    if (!opts.fresh) {
      report = await lastRunDoctor();
      if (report) {
        source = "last_run";
        stored = true;
      }
    }
    if (!report) {
      const live = await liveDoctor(opts.fresh === true);
      report = live.report;
      stored = live.cached;
      source = "live";
    }
  } catch (e) {
    error = scrubSecrets((e as Error)?.message ?? String(e));
    logger.warn({ err: error }, "webhook doctor failed");
  }
  const local = await localFindings({ withDeliveryChecks: stored || !report });
  const findings = (report?.findings ?? []).filter(
    (f) => !(stored && DELIVERY_FINDING_CODES.has(f.code)),
  );
  return {
    ...base,
    checkedAt: report ? new Date(report.checkedAt) : null,
    source,
    endpoints: report?.endpoints ?? [],
    findings: [...findings, ...local],
    error,
  };
}
