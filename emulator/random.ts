import { createHash, randomBytes } from "node:crypto";

export type PrngState = [number, number, number, number];

/**
 * sfc32: fast, statistically sound, and its whole state is four integers, so a snapshot can
 * store it and a restarted emulator continues the same id stream instead of repeating it.
 */
export class Prng {
  private a: number;
  private b: number;
  private c: number;
  private d: number;

  constructor(state: PrngState) {
    [this.a, this.b, this.c, this.d] = state;
  }

  nextUint32(): number {
    const t = (((this.a + this.b) | 0) + this.d) | 0;
    this.d = (this.d + 1) | 0;
    this.a = this.b ^ (this.b >>> 9);
    this.b = (this.c + (this.c << 3)) | 0;
    this.c = (this.c << 21) | (this.c >>> 11);
    this.c = (this.c + t) | 0;
    return t >>> 0;
  }

  /** Uniform in [0, 1). */
  next(): number {
    return this.nextUint32() / 4294967296;
  }

  int(maxExclusive: number): number {
    return Math.floor(this.next() * maxExclusive);
  }

  state(): PrngState {
    return [this.a, this.b, this.c, this.d];
  }
}

/** One independent stream per purpose, so API traffic never shifts the ids of created objects. */
export function streamFor(seed: number, stream: string): Prng {
  const digest = createHash("sha256").update(`${seed}:${stream}`).digest();
  const prng = new Prng([
    digest.readUInt32LE(0),
    digest.readUInt32LE(4),
    digest.readUInt32LE(8),
    digest.readUInt32LE(12),
  ]);
  // Warm up so closely related seeds diverge immediately.
  for (let i = 0; i < 12; i++) prng.nextUint32();
  return prng;
}

/**
 * A uniform number in [0, 1) that depends only on its inputs. Webhook faults use it so a
 * decision for (event, endpoint, attempt) is reproducible whatever order deliveries run in.
 */
export function hashUnit(...parts: Array<string | number>): number {
  const digest = createHash("sha256").update(parts.join("\u0000")).digest();
  return digest.readUIntBE(0, 6) / 2 ** 48;
}

export function randomSeed(): number {
  return randomBytes(4).readUInt32LE(0);
}
