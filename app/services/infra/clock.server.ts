import { remember } from "~/lib/remember";

/**
 * The application's clock for the times it records itself (a ledger entry's and a purchase's
 * "credited at", a dispute's closing). It is the real time, except while demo mode acts out its
 * ninety simulated days: then it follows the emulator's clock, so the demo's ledger, purchases and
 * disputes carry the simulated day they happened on rather than the seeding minute
 * (app/services/demo/seed.server.ts). Nothing else moves it.
 */
const holder = remember("app-clock", (): { source?: () => number } => ({}));

export function appNow(): Date {
  return new Date(holder.source ? holder.source() : Date.now());
}

/** Follow another clock (demo seeding) until called with undefined. */
export function setAppClock(source: (() => number) | undefined): void {
  holder.source = source;
}
