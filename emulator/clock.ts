export interface ClockState {
  frozenAtMs: number | null;
  offsetMs: number;
}

/**
 * The emulator's notion of "now". A wall clock follows real time (plus whatever was advanced);
 * a frozen clock only moves when advanced, which makes timestamps reproducible in tests.
 */
export class EmulatorClock {
  private frozenAtMs: number | null;
  private offsetMs = 0;

  private constructor(frozenAtMs: number | null) {
    this.frozenAtMs = frozenAtMs;
  }

  static wall(): EmulatorClock {
    return new EmulatorClock(null);
  }

  static frozen(startSeconds: number): EmulatorClock {
    return new EmulatorClock(Math.floor(startSeconds) * 1000);
  }

  get isFrozen(): boolean {
    return this.frozenAtMs !== null;
  }

  nowMs(): number {
    return (this.frozenAtMs ?? Date.now()) + this.offsetMs;
  }

  /** Unix seconds, as Stripe timestamps are. */
  now(): number {
    return Math.floor(this.nowMs() / 1000);
  }

  advance(seconds: number): number {
    if (!Number.isFinite(seconds) || seconds < 0) {
      throw new RangeError("The clock only moves forward: seconds must be a non-negative number");
    }
    this.offsetMs += Math.round(seconds * 1000);
    return this.now();
  }

  state(): ClockState {
    return { frozenAtMs: this.frozenAtMs, offsetMs: this.offsetMs };
  }

  restore(state: ClockState): void {
    this.frozenAtMs = state.frozenAtMs;
    this.offsetMs = state.offsetMs;
  }
}
