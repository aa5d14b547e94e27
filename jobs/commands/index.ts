import type { CliCommand } from "../cli-kit";
import { apiKeyCreateCommand, apiKeyListCommand, apiKeyRevokeCommand } from "./apikey";
import { demoResetCommand, demoStatusCommand } from "./demo";
import { creditsExpireCommand } from "./credits";
import { ledgerVerifyCommand } from "./ledger";
import { createMigrationCommand, migrateCommand } from "./migrate";
import {
  endpointsCreateCommand,
  endpointsDisableCommand,
  endpointsListCommand,
  endpointsRotateCommand,
  eventsReplayCommand,
} from "./outbound";
import { packsSyncCommand } from "./packs";
import { reconcileCommand } from "./reconcile";
import { staffCreateCommand } from "./staff";

/** Every CLI command; `npm run cli -- --help` lists them in this order. */
export const commands: CliCommand[] = [
  migrateCommand,
  createMigrationCommand,
  staffCreateCommand,
  ledgerVerifyCommand,
  creditsExpireCommand,
  packsSyncCommand,
  reconcileCommand,
  apiKeyCreateCommand,
  apiKeyRevokeCommand,
  apiKeyListCommand,
  endpointsCreateCommand,
  endpointsListCommand,
  endpointsDisableCommand,
  endpointsRotateCommand,
  eventsReplayCommand,
  demoStatusCommand,
  demoResetCommand,
];
