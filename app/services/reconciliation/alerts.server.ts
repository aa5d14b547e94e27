import type { ReconciliationRun } from "~/generated/prisma/client";
import { autoResolveAttention, raiseAttention } from "../attention.server";
import { getDb } from "../infra/db.server";
import { getEnv } from "../infra/env.server";
import { logger, scrubSecrets } from "../infra/logger.server";
import type { DoctorReport } from "./doctor.server";

/**
 * When reconciliation had to do the webhooks' job (it credited a purchase or applied a refund
 * they missed), or the doctor found them silent, somebody must look: a `webhook_gap` attention
 * item (one open item, counted up per run) and, with ALERT_WEBHOOK_URL, a JSON POST with a
 * Slack-compatible `text`. A POST that fails leaves the run's alertStatus "pending", and the next
 * run sends it again (for up to a week).
 */

export type AlertStatus = "attention_only" | "pending" | "sent" | "expired";

export const WEBHOOK_GAP_KEY = "webhook_gap";
const ALERT_TIMEOUT_MS = 10_000;
const ALERT_RETRY_DAYS = 7;

export interface GapFacts {
  creditedNow: number;
  refundsApplied: number;
  webhooksSilent: boolean;
}

export interface AlertPayload {
  text: string;
  runId: string;
  status: string;
  window: { since: string; until: string };
  creditedNow: number;
  refundsApplied: number;
  needsAttention: number;
  undeliveredEvents: number;
  errors: number;
  webhooksSilent: boolean;
  findings: { code: string; severity: string; title: string }[];
  runUrl: string;
}

export function isWebhookGap(facts: GapFacts): boolean {
  return facts.creditedNow > 0 || facts.refundsApplied > 0 || facts.webhooksSilent;
}

function doctorOf(run: Pick<ReconciliationRun, "doctor">): DoctorReport | null {
  const d = run.doctor as unknown as DoctorReport | null;
  return d && Array.isArray(d.findings) ? d : null;
}

export function buildAlertPayload(run: ReconciliationRun, refundsApplied: number): AlertPayload {
  const doctor = doctorOf(run);
  const silent = doctor?.webhooksSilent ?? false;
  const runUrl = `${getEnv().appUrl}/reconciliation/${run.id}`;
  const parts: string[] = [];
  if (run.creditedNow > 0)
    parts.push(`credited ${run.creditedNow} paid purchase(s) whose webhooks never arrived`);
  if (refundsApplied > 0)
    parts.push(`applied ${refundsApplied} refund(s) whose webhooks never arrived`);
  if (silent)
    parts.push("found no valid webhook delivery in 24 h while Stripe had completed sessions");
  const extra: string[] = [];
  if (run.needsAttention > 0) extra.push(`${run.needsAttention} session(s) need attention`);
  if (run.errors > 0) extra.push(`${run.errors} error(s)`);
  const problems = (doctor?.findings ?? []).filter((f) => f.severity === "error");
  if (problems.length > 0) extra.push(`webhook doctor: ${problems.map((f) => f.title).join("; ")}`);
  const text =
    `:rotating_light: creditdesk reconciliation ${parts.join(", and ") || "finished"} — the Stripe webhooks look broken. ` +
    `Run ${run.id} (${run.status}), window ${run.windowSince.toISOString()} → ${run.windowUntil.toISOString()}.` +
    (extra.length ? ` ${extra.join(". ")}.` : "") +
    ` Details: ${runUrl}`;
  return {
    text,
    runId: run.id,
    status: run.status,
    window: { since: run.windowSince.toISOString(), until: run.windowUntil.toISOString() },
    creditedNow: run.creditedNow,
    refundsApplied,
    needsAttention: run.needsAttention,
    undeliveredEvents: run.undeliveredEvents,
    errors: run.errors,
    webhooksSilent: silent,
    findings: (doctor?.findings ?? []).map((f) => ({
      code: f.code,
      severity: f.severity,
      title: f.title,
    })),
    runUrl,
  };
}

export type PostResult = { ok: true } | { ok: false; host: string; reason: string };

/** POST the payload. The URL itself is a secret (Slack's carry a token): only its host is logged. */
export async function postAlert(url: string, payload: AlertPayload): Promise<PostResult> {
  let host: string;
  try {
    host = new URL(url).host;
  } catch {
    return { ok: false, host: "(invalid URL)", reason: "ALERT_WEBHOOK_URL is not a valid URL" };
  }
  try {
    const response = await fetch(url, {
      method: "POST",
      headers: { "Content-Type": "application/json", "User-Agent": "creditdesk-reconciliation" },
      body: JSON.stringify(payload),
      signal: AbortSignal.timeout(ALERT_TIMEOUT_MS),
    });
    await response.arrayBuffer().catch(() => undefined);
    if (response.ok) return { ok: true };
    logger.warn(
      { host, status: response.status, runId: payload.runId },
      "alert webhook refused the alert; retried on the next run",
    );
    return { ok: false, host, reason: `answered HTTP ${response.status}` };
  } catch (error) {
    const cause = (error as { cause?: { code?: string } }).cause?.code;
    const reason = cause ?? scrubSecrets((error as Error).message);
    logger.warn(
      { host, err: reason, runId: payload.runId },
      "alert webhook POST failed; retried on the next run",
    );
    return { ok: false, host, reason };
  }
}

const ALERT_DELIVERY_KEY = "alert_delivery:reconciliation";

/** Send, and keep the `alert_delivery` attention item in step with whether sending works. */
async function deliver(url: string, payload: AlertPayload): Promise<boolean> {
  const result = await postAlert(url, payload);
  if (result.ok) {
    await getDb().$transaction((tx) =>
      autoResolveAttention(tx, [ALERT_DELIVERY_KEY], `Alert for run ${payload.runId} delivered.`),
    );
    return true;
  }
  await raiseAttention({
    kind: "alert_delivery",
    dedupeKey: ALERT_DELIVERY_KEY,
    title: "Reconciliation alerts could not be sent",
    detail: `POST to ${result.host} (ALERT_WEBHOOK_URL) failed: ${result.reason}. The alert for run ${payload.runId} is sent again by the next run; check the URL and the receiving service.`,
    runId: payload.runId,
  });
  return false;
}

async function refundsAppliedIn(runId: string): Promise<number> {
  return getDb().reconciliationItem.count({ where: { runId, outcome: "refund_missing" } });
}

/**
 * Raise the webhook-gap alert for a finished (non-dry) run. Returns the alert status to store on
 * the run, or null when nothing needed saying.
 */
export async function raiseGapAlert(
  run: ReconciliationRun,
  facts: GapFacts,
): Promise<AlertStatus | null> {
  if (run.dryRun || !isWebhookGap(facts)) return null;
  const payload = buildAlertPayload(run, facts.refundsApplied);
  await raiseAttention({
    kind: "webhook_gap",
    dedupeKey: WEBHOOK_GAP_KEY,
    title: "Webhooks are missing events: reconciliation had to step in",
    detail: payload.text.replace(/^:rotating_light: /, ""),
    runId: run.id,
    data: {
      runId: run.id,
      creditedNow: facts.creditedNow,
      refundsApplied: facts.refundsApplied,
      webhooksSilent: facts.webhooksSilent,
    },
  });
  const url = getEnv().ALERT_WEBHOOK_URL;
  if (!url) return "attention_only";
  return (await deliver(url, payload)) ? "sent" : "pending";
}

/** Send the alerts earlier runs could not deliver; older than a week they are dropped ("expired"). */
export async function retryPendingAlerts(
  now: Date = new Date(),
): Promise<{ sent: number; pending: number; expired: number }> {
  const db = getDb();
  const pending = await db.reconciliationRun.findMany({
    where: { alertStatus: "pending" },
    orderBy: { startedAt: "asc" },
    take: 20,
  });
  const result = { sent: 0, pending: 0, expired: 0 };
  if (pending.length === 0) return result;
  const url = getEnv().ALERT_WEBHOOK_URL;
  for (const run of pending) {
    let status: AlertStatus = "pending";
    if (now.getTime() - run.startedAt.getTime() > ALERT_RETRY_DAYS * 24 * 3600 * 1000)
      status = "expired";
    else if (!url) status = "attention_only";
    else if (await deliver(url, buildAlertPayload(run, await refundsAppliedIn(run.id))))
      status = "sent";
    if (status !== "pending") {
      await db.reconciliationRun.update({ where: { id: run.id }, data: { alertStatus: status } });
    }
    if (status === "sent") result.sent += 1;
    else if (status === "expired") result.expired += 1;
    else if (status === "pending") result.pending += 1;
    // The receiver is still down: later alerts would fail the same way.
    if (status === "pending") break;
  }
  if (result.sent || result.expired) logger.info(result, "retried pending reconciliation alerts");
  return result;
}
