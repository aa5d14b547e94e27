import { existsSync, readFileSync } from "node:fs";
import { mkdir, rename, writeFile } from "node:fs/promises";
import { dirname } from "node:path";
import type { ClockState } from "../clock";
import type { EmulatorCore } from "../core";
import type { Mode } from "../ids";
import type { StripeObject } from "../objects/common";
import type { PrngState } from "../random";
import { shape, STRIPE_SCHEMA } from "../schema/shape";
import type { DeliveryRecord } from "../webhooks/delivery-queue";
import type { Ledger, SessionDetails } from "./ledger";

export interface LedgerSnapshot {
  /** Each table's objects, oldest first (re-inserting in this order restores list order). */
  tables: Record<string, StripeObject[]>;
  sessionDetails: Array<[string, SessionDetails]>;
  webhookSecrets: Array<[string, string]>;
  purchaseOf: Array<[string, string]>;
  /** Absent in snapshots written before deleted customers were kept. */
  deleted?: Array<[string, string]>;
  /** Absent in snapshots written before subscriptions renewed. */
  failingRenewals?: string[];
  invoiceCount: number;
}

export interface EmulatorSnapshot {
  format: "creditdesk-stripe-emulator";
  version: 1;
  savedAt: string;
  seed: number;
  clock: ClockState;
  streams: { ids: PrngState; requests: PrngState; apiFaults: PrngState };
  ledgers: Record<Mode, LedgerSnapshot>;
  deliveries: { seq: number; records: DeliveryRecord[] };
  droppedPurchases: string[];
}

function ledgerSnapshot(ledger: Ledger): LedgerSnapshot {
  const tables: Record<string, StripeObject[]> = {};
  for (const [name, table] of Object.entries(ledger.tables())) tables[name] = table.values();
  return {
    tables,
    sessionDetails: [...ledger.sessionDetails],
    webhookSecrets: [...ledger.webhookSecrets],
    purchaseOf: [...ledger.purchaseOf],
    deleted: [...ledger.deleted],
    failingRenewals: [...ledger.failingRenewals],
    invoiceCount: ledger.invoiceCount,
  };
}

/** The whole state as JSON text: what a snapshot file holds. */
export function snapshotJson(core: EmulatorCore): string {
  return JSON.stringify({
    format: "creditdesk-stripe-emulator",
    version: 1,
    savedAt: new Date().toISOString(),
    seed: core.seed,
    clock: core.clock.state(),
    streams: {
      ids: core.idStream.state(),
      requests: core.requestStream.state(),
      apiFaults: core.apiFaultStream.state(),
    },
    ledgers: { test: ledgerSnapshot(core.ledgers.test), live: ledgerSnapshot(core.ledgers.live) },
    deliveries: { seq: core.deliveries.sequence(), records: core.deliveries.list() },
    droppedPurchases: [...core.droppedPurchases],
  } satisfies EmulatorSnapshot);
}

/** A detached copy of the state (a JSON round trip, so callers cannot reach live objects). */
export function takeSnapshot(core: EmulatorCore): EmulatorSnapshot {
  return JSON.parse(snapshotJson(core)) as EmulatorSnapshot;
}

/**
 * An object saved by an earlier emulator, brought to the pinned version's top-level shape: fields
 * it lacked become `null`, fields the version dropped go, and the old `ui_mode: "hosted"` is
 * `hosted_page`. (Nested objects keep what was saved.)
 */
function currentShape(obj: StripeObject): StripeObject {
  const typeName = STRIPE_SCHEMA.objects[obj.object]?.type;
  if (!typeName) return obj;
  const shaped = shape<StripeObject>(typeName, obj);
  if (shaped.object === "checkout.session" && shaped.ui_mode === "hosted") {
    shaped.ui_mode = "hosted_page";
  }
  return shaped;
}

export function restoreSnapshot(core: EmulatorCore, snapshot: EmulatorSnapshot): void {
  core.clock.restore(snapshot.clock);
  core.reseed(snapshot.streams);
  for (const mode of ["test", "live"] as const) {
    const ledger = core.ledgers[mode];
    const saved = snapshot.ledgers[mode];
    ledger.clear();
    const tables = ledger.tables();
    for (const [name, objects] of Object.entries(saved.tables)) {
      const table = tables[name];
      if (!table) throw new Error(`Snapshot has an unknown table "${name}"`);
      for (const obj of objects) table.insert(currentShape(obj));
    }
    for (const [id, details] of saved.sessionDetails) ledger.sessionDetails.set(id, details);
    for (const [id, secret] of saved.webhookSecrets) ledger.webhookSecrets.set(id, secret);
    for (const [id, root] of saved.purchaseOf) ledger.purchaseOf.set(id, root);
    for (const [id, object] of saved.deleted ?? []) ledger.deleted.set(id, object);
    for (const id of saved.failingRenewals ?? []) ledger.failingRenewals.add(id);
    ledger.invoiceCount = saved.invoiceCount;
  }
  core.droppedPurchases.clear();
  for (const id of snapshot.droppedPurchases) core.droppedPurchases.add(id);
  core.deliveries.restore(snapshot.deliveries.records, snapshot.deliveries.seq);
}

export function readSnapshotFile(path: string): EmulatorSnapshot | undefined {
  if (!existsSync(path)) return undefined;
  const parsed = JSON.parse(readFileSync(path, "utf8")) as Partial<EmulatorSnapshot>;
  if (parsed.format !== "creditdesk-stripe-emulator" || parsed.version !== 1) {
    throw new Error(`${path} is not a snapshot written by this emulator (format/version mismatch)`);
  }
  return parsed as EmulatorSnapshot;
}

/** Writes to a temporary file first so a crash mid-write never leaves a truncated snapshot. */
export async function writeSnapshotFile(path: string, json: string): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  const tmp = `${path}.${process.pid}.tmp`;
  await writeFile(tmp, json);
  await rename(tmp, path);
}
