/**
 * The demo's story, decided up front from a seed so every first start tells the same one:
 * who the users are, what they buy on which day, which purchases are refunded or disputed,
 * whose webhooks get lost. Pure data — seed.server.ts acts it out through Stripe (the emulator)
 * and the app's real webhook endpoint.
 */

export const DEMO_DAYS = 90;
export const DEMO_USER_COUNT = 200;
/** Share of all purchases whose webhooks are dropped, all within DROP_WINDOW_DAYS of today. */
export const DROP_SHARE = 0.03;
/** Inside the demo's first reconciliation window (RECONCILE_LOOKBACK_DAYS=30 in demo mode). */
export const DROP_WINDOW_DAYS = 25;

const DAY = 86_400;

export type PackCode = "starter" | "creator" | "professional";

export interface DemoPackSpec {
  code: PackCode;
  name: string;
  description: string;
  credits: number;
  /** Minor units (cents). */
  unitAmount: number;
  /** Share of purchases. */
  weight: number;
}

export const DEMO_PACKS: readonly DemoPackSpec[] = [
  {
    code: "starter",
    name: "Starter",
    description: "500 credits",
    credits: 500,
    unitAmount: 499,
    weight: 0.55,
  },
  {
    code: "creator",
    name: "Creator",
    description: "1,500 credits",
    credits: 1500,
    unitAmount: 1499,
    weight: 0.3,
  },
  {
    code: "professional",
    name: "Professional",
    description: "3,500 credits",
    credits: 3500,
    unitAmount: 2999,
    weight: 0.15,
  },
];

export const DEMO_SUBSCRIPTION = {
  name: "Pro plan",
  description: "Pro tier, billed monthly",
  unitAmount: 999,
  tier: "pro",
} as const;

export interface PlannedUser {
  id: string;
  email: string;
  name: string;
}

export type PurchaseFate = "normal" | "dropped" | "refund_full" | "refund_partial" | "dispute";

export interface PlannedPurchase {
  index: number;
  day: number;
  /** Unix seconds: the Checkout Session's `created`. */
  at: number;
  user: number;
  pack: PackCode;
  quantity: number;
  fate: PurchaseFate;
}

export type PlannedAction =
  | { kind: "purchase"; at: number; purchase: number }
  | { kind: "subscribe"; at: number; user: number }
  | { kind: "unmatched"; at: number; email: string; pack: PackCode }
  | { kind: "refund"; at: number; purchase: number; partial: boolean }
  | { kind: "dispute"; at: number; purchase: number }
  | { kind: "cancel_subscription"; at: number; user: number };

export interface DemoPlan {
  seed: number;
  /** Unix seconds of day 0's midnight (UTC). */
  startDay: number;
  /** Real time the plan was made for; nothing is planned after it. */
  now: number;
  users: PlannedUser[];
  purchases: PlannedPurchase[];
  /** Per day, in time order. */
  days: PlannedAction[][];
  droppedPurchases: number;
  unmatchedSessions: number;
}

/** sfc32: small, fast, and good enough to make a demo look random yet repeatable. */
export class DemoRandom {
  private a: number;
  private b: number;
  private c: number;
  private d: number;

  constructor(seed: number) {
    this.a = 0x9e3779b9;
    this.b = 0x243f6a88;
    this.c = 0xb7e15162;
    this.d = seed >>> 0;
    for (let i = 0; i < 15; i++) this.next();
  }

  /** Uniform in [0, 1). */
  next(): number {
    this.a >>>= 0;
    this.b >>>= 0;
    this.c >>>= 0;
    this.d >>>= 0;
    const t = (((this.a + this.b) | 0) + this.d) | 0;
    this.d = (this.d + 1) | 0;
    this.a = this.b ^ (this.b >>> 9);
    this.b = (this.c + (this.c << 3)) | 0;
    this.c = (this.c << 21) | (this.c >>> 11);
    this.c = (this.c + t) | 0;
    return (t >>> 0) / 4294967296;
  }

  int(min: number, max: number): number {
    return min + Math.floor(this.next() * (max - min + 1));
  }

  pick<T>(items: readonly T[]): T {
    return items[Math.floor(this.next() * items.length)];
  }

  weighted<T>(items: readonly T[], weight: (item: T) => number): T {
    const total = items.reduce((sum, item) => sum + weight(item), 0);
    let r = this.next() * total;
    for (const item of items) {
      r -= weight(item);
      if (r < 0) return item;
    }
    return items[items.length - 1];
  }

  normal(): number {
    const u = Math.max(this.next(), 1e-12);
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * this.next());
  }

  poisson(mean: number): number {
    // Knuth's method is fine for the small daily means used here.
    const limit = Math.exp(-mean);
    let k = 0;
    let p = this.next();
    while (p > limit) {
      k++;
      p *= this.next();
    }
    return k;
  }
}

const FIRST_NAMES = (
  "Ava Ben Chloe Daniel Elena Farid Grace Hugo Isla Jonas Kai Lena Mateo Nora Omar " +
  "Priya Quinn Rosa Sami Tara Umar Vera Wes Ximena Yuki Zoe Aiko Bruno Carmen Dev Emil " +
  "Fatima Gus Hana Ivan Julia Kofi Lucia Milan Noah"
).split(" ");
const LAST_NAMES = (
  "Adler Baptiste Chen Dubois Eriksen Fischer Garcia Haddad Ito Jensen Kowalski Larsen " +
  "Moreau Nakamura Okafor Patel Quint Rossi Silva Tanaka Underwood Varga Weber Xu " +
  "Yilmaz Zhang Alvarez Brooks Costa Dimitrov Evans Ferreira Gomez Horvat Ibrahim Kim " +
  "Lopez Murphy Novak Olsen"
).split(" ");
const DOMAINS = ["example.com", "example.org", "example.net", "mail.example.com", "studio.example"];
/** Sunday first, as Date#getUTCDay counts: weekends buy less than weekdays. */
const WEEKDAY_FACTOR = [0.65, 1.0, 1.08, 1.12, 1.05, 0.95, 0.7];
/** Relative purchase activity by UTC hour (busiest in European and American working hours). */
const HOUR_WEIGHT = [2, 1, 1, 1, 1, 2, 3, 4, 6, 7, 8, 8, 9, 10, 11, 11, 10, 10, 9, 8, 7, 5, 4, 3];

function makeUsers(rng: DemoRandom): {
  users: PlannedUser[];
  weights: number[];
  joinedDay: number[];
} {
  const users: PlannedUser[] = [];
  const weights: number[] = [];
  const joinedDay: number[] = [];
  const seen = new Set<string>();
  const alphabet = "0123456789abcdefghijklmnopqrstuvwxyz";
  for (let i = 0; i < DEMO_USER_COUNT; i++) {
    const first = rng.pick(FIRST_NAMES);
    const last = rng.pick(LAST_NAMES);
    let local = `${first}.${last}`.toLowerCase();
    while (seen.has(local)) local = `${first}.${last}${rng.int(2, 99)}`.toLowerCase();
    seen.add(local);
    let id = "usr_";
    for (let k = 0; k < 10; k++) id += alphabet[rng.int(0, alphabet.length - 1)];
    users.push({ id, email: `${local}@${rng.pick(DOMAINS)}`, name: `${first} ${last}` });
    // A few heavy buyers and a long tail, as in any credits business.
    weights.push(0.15 + 3 * rng.next() ** 3);
    // Most users were there at the start; the rest sign up over the 90 days (growth).
    joinedDay.push(rng.next() < 0.55 ? 0 : rng.int(0, DEMO_DAYS - 5));
  }
  return { users, weights, joinedDay };
}

function timeInDay(rng: DemoRandom, dayStart: number, latest: number): number {
  for (let attempt = 0; attempt < 20; attempt++) {
    const hour = rng.weighted(
      HOUR_WEIGHT.map((_, h) => h),
      (h) => HOUR_WEIGHT[h],
    );
    const at = dayStart + hour * 3600 + rng.int(0, 3599);
    if (at <= latest) return at;
  }
  return dayStart + Math.floor(rng.next() * Math.max(1, latest - dayStart));
}

/**
 * The whole story for "now". Days are UTC days: day DEMO_DAYS-1 is today, planned only up to a
 * minute ago so every session is in the past when reconciliation lists it.
 */
export function planDemo(seed: number, nowSeconds: number): DemoPlan {
  const rng = new DemoRandom(seed);
  const today = Math.floor(nowSeconds / DAY) * DAY;
  const startDay = today - (DEMO_DAYS - 1) * DAY;
  const latest = nowSeconds - 60;
  const { users, weights, joinedDay } = makeUsers(rng);

  const purchases: PlannedPurchase[] = [];
  for (let day = 0; day < DEMO_DAYS; day++) {
    const dayStart = startDay + day * DAY;
    if (dayStart > latest) break;
    const growth = 1 + 1.2 * (day / (DEMO_DAYS - 1));
    const weekday = WEEKDAY_FACTOR[new Date(dayStart * 1000).getUTCDay()];
    const noise = Math.exp(0.2 * rng.normal());
    const share = Math.min(1, (latest - dayStart) / DAY);
    const count = rng.poisson(3.6 * growth * weekday * noise * share);
    const eligible = users.map((_, i) => i).filter((i) => joinedDay[i] <= day);
    const times = Array.from({ length: count }, () =>
      timeInDay(rng, dayStart, Math.min(latest, dayStart + DAY - 1)),
    );
    times.sort((a, b) => a - b);
    for (const at of times) {
      const pack = rng.weighted(DEMO_PACKS, (p) => p.weight).code;
      purchases.push({
        index: purchases.length,
        day,
        at,
        user: rng.weighted(eligible, (i) => weights[i]),
        pack,
        quantity: rng.next() < 0.05 ? 2 : 1,
        fate: "normal",
      });
    }
  }

  const actions: PlannedAction[] = purchases.map((p) => ({
    kind: "purchase",
    at: p.at,
    purchase: p.index,
  }));
  const normalIn = (
    fromDay: number,
    toDay: number,
    filter: (p: PlannedPurchase) => boolean = () => true,
  ) =>
    purchases.filter((p) => p.fate === "normal" && p.day >= fromDay && p.day <= toDay && filter(p));

  // Refunds: a few, a few days after the purchase; most full, some half.
  for (let i = 0; i < 8; i++) {
    const candidates = normalIn(10, DEMO_DAYS - 8);
    if (candidates.length === 0) break;
    const p = rng.pick(candidates);
    const partial = i >= 5;
    p.fate = partial ? "refund_partial" : "refund_full";
    const at = Math.min(latest, p.at + rng.int(1, 5) * DAY + rng.int(0, 6 * 3600));
    actions.push({ kind: "refund", at, purchase: p.index, partial });
  }

  // One chargeback on a large purchase, still open (needs a response).
  const disputable = normalIn(DEMO_DAYS - 30, DEMO_DAYS - 12, (p) => p.pack === "professional");
  const disputed =
    disputable.length > 0 ? rng.pick(disputable) : rng.pick(normalIn(0, DEMO_DAYS - 12));
  if (disputed) {
    disputed.fate = "dispute";
    actions.push({
      kind: "dispute",
      at: Math.min(latest, disputed.at + 6 * DAY),
      purchase: disputed.index,
    });
  }

  // Lost webhooks: about 3% of all purchases, all recent enough for the first reconciliation.
  const drops = Math.max(1, Math.round(DROP_SHARE * purchases.length));
  const droppable = normalIn(DEMO_DAYS - DROP_WINDOW_DAYS, DEMO_DAYS - 1);
  for (let i = 0; i < drops && droppable.length > 0; i++) {
    const [p] = droppable.splice(rng.int(0, droppable.length - 1), 1);
    p.fate = "dropped";
  }

  // Pro subscriptions from users who bought a pack before (they already have a Stripe customer);
  // two of them cancel later.
  const subscribers = new Set<number>();
  for (let i = 0; i < 12; i++) {
    const day = rng.int(5, DEMO_DAYS - 3);
    const buyers = purchases.filter(
      (p) => p.day < day && p.fate !== "dropped" && !subscribers.has(p.user),
    );
    if (buyers.length === 0) continue;
    const user = rng.pick(buyers).user;
    subscribers.add(user);
    const at = timeInDay(
      rng,
      startDay + day * DAY,
      Math.min(latest, startDay + (day + 1) * DAY - 1),
    );
    actions.push({ kind: "subscribe", at, user });
    const cancelAt = at + rng.int(20, 30) * DAY;
    if (i < 2 && cancelAt < latest)
      actions.push({ kind: "cancel_subscription", at: cancelAt, user });
  }

  // Two paid sessions nobody can attribute: no client_reference_id, an email no user has.
  const strangers = ["pat.unknown@example.net", "billing@acme-holdings.example"];
  strangers.forEach((email, i) => {
    const day = DEMO_DAYS - 20 + i * 12;
    const at = timeInDay(
      rng,
      startDay + day * DAY,
      Math.min(latest, startDay + (day + 1) * DAY - 1),
    );
    actions.push({ kind: "unmatched", at, email, pack: i === 0 ? "creator" : "starter" });
  });

  const days: PlannedAction[][] = Array.from({ length: DEMO_DAYS }, () => []);
  for (const action of actions) {
    const day = Math.min(DEMO_DAYS - 1, Math.max(0, Math.floor((action.at - startDay) / DAY)));
    days[day].push(action);
  }
  for (const list of days) list.sort((a, b) => a.at - b.at);

  return {
    seed,
    startDay,
    now: nowSeconds,
    users,
    purchases,
    days,
    droppedPurchases: purchases.filter((p) => p.fate === "dropped").length,
    unmatchedSessions: strangers.length,
  };
}
