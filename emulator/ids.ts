import type { Prng } from "./random";

const BASE62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
const BASE62_CODES = Array.from(BASE62, (c) => c.charCodeAt(0));

export type Mode = "test" | "live";

export class IdFactory {
  constructor(private readonly prng: Prng) {}

  random(length: number): string {
    // Built in one go: appending char by char leaves a rope of `length` nodes per id in memory.
    const codes = new Array<number>(length);
    for (let i = 0; i < length; i++) codes[i] = BASE62_CODES[this.prng.int(62)];
    return String.fromCharCode(...codes);
  }

  /** Stripe-looking ids, e.g. `pi_3Qk…` (24 characters after the prefix). */
  next(prefix: string): string {
    return `${prefix}_${this.random(24)}`;
  }

  /** Checkout Session ids carry the mode, like Stripe's `cs_test_a1…`. */
  checkoutSession(mode: Mode): string {
    return `cs_${mode}_a1${this.random(56)}`;
  }

  webhookSecret(): string {
    return `whsec_${this.random(32)}`;
  }

  requestId(): string {
    return `req_${this.random(14)}`;
  }

  invoicePrefix(): string {
    return this.prng.nextUint32().toString(16).toUpperCase().padStart(8, "0");
  }
}
