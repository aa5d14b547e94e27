import type { TimestampRange } from "../api/params";
import { resourceMissing } from "../api/stripe-error";
import { type Entry, SortedBucket, lowerBound } from "./sorted-bucket";

export interface StoredObject {
  id: string;
  created: number;
}

export interface PageQuery<T> {
  limit: number;
  startingAfter?: string;
  endingBefore?: string;
  created?: TimestampRange;
  /** Equality on indexed fields; `undefined` values are ignored. */
  where?: Record<string, string | undefined>;
  filter?: (obj: T) => boolean;
}

export interface Page<T> {
  data: T[];
  hasMore: boolean;
}

type IndexKey<T> = (obj: T) => string | null | undefined;

interface Index<T> {
  key: IndexKey<T>;
  buckets: Map<string, SortedBucket<T>>;
}

/**
 * An in-memory table ordered the way Stripe lists are (newest first by `created`, ties broken
 * by insertion order). Pages cost O(log n + page) — cursors are found by binary search on the
 * cursor's own (created, seq), so paging 200,000 rows never scans from the start.
 */
export class Collection<T extends StoredObject> {
  private byId = new Map<string, Entry<T>>();
  private all = new SortedBucket<T>();
  private indexes = new Map<string, Index<T>>();
  private seq = 0;

  constructor(
    readonly label: string,
    indexKeys: Record<string, IndexKey<T>> = {},
  ) {
    for (const [name, key] of Object.entries(indexKeys)) {
      this.indexes.set(name, { key, buckets: new Map() });
    }
  }

  get size(): number {
    return this.byId.size;
  }

  insert(obj: T): T {
    if (this.byId.has(obj.id)) throw new Error(`Duplicate id ${obj.id} in ${this.label}`);
    const entry: Entry<T> = { obj, created: obj.created, seq: this.seq++ };
    this.byId.set(obj.id, entry);
    this.all.add(entry);
    for (const index of this.indexes.values()) bucketAdd(index, index.key(obj), entry);
    return obj;
  }

  get(id: string): T | undefined {
    return this.byId.get(id)?.obj;
  }

  /** `param` names the request parameter the id came from; without it the id is the URL's (404). */
  require(id: string, param?: string): T {
    const obj = this.get(id);
    if (!obj) throw resourceMissing(this.label, id, param);
    return obj;
  }

  /** The only way to change a stored object, so secondary indexes follow its fields. */
  update(obj: T, mutate: (obj: T) => void): T {
    const entry = this.byId.get(obj.id);
    if (!entry || entry.obj !== obj) throw new Error(`${obj.id} is not stored in ${this.label}`);
    const before = [...this.indexes.values()].map((index) => index.key(obj));
    mutate(obj);
    let i = 0;
    for (const index of this.indexes.values()) {
      const old = before[i++];
      const now = index.key(obj);
      if (old !== now) {
        bucketRemove(index, old, entry);
        bucketAdd(index, now, entry);
      }
    }
    return obj;
  }

  remove(id: string): void {
    const entry = this.byId.get(id);
    if (!entry) return;
    this.byId.delete(id);
    this.all.remove(entry);
    for (const index of this.indexes.values()) bucketRemove(index, index.key(entry.obj), entry);
  }

  /** Objects whose indexed field equals `value`, oldest first. */
  matching(index: string, value: string): T[] {
    const bucket = this.indexes.get(index)?.buckets.get(value);
    return bucket ? bucket.view().map((e) => e.obj) : [];
  }

  /** Ascending (oldest first), the order a snapshot stores and a reload re-inserts. */
  values(): T[] {
    return this.all.view().map((e) => e.obj);
  }

  page(q: PageQuery<T>): Page<T> {
    const { source, rest } = this.chooseSource(q.where);
    if (!source) return { data: [], hasMore: false };
    const arr = source.view();
    let lo = 0;
    let hi = arr.length;
    if (q.created) {
      const lower = maxDefined(
        q.created.gte,
        q.created.gt === undefined ? undefined : q.created.gt + 1,
      );
      const upper = minDefined(
        q.created.lte,
        q.created.lt === undefined ? undefined : q.created.lt - 1,
      );
      if (lower !== undefined) lo = lowerBound(arr, lower, -Infinity);
      if (upper !== undefined) hi = lowerBound(arr, upper + 1, -Infinity);
    }
    const matches = (obj: T) =>
      rest.every(([index, value]) => index.key(obj) === value) && (!q.filter || q.filter(obj));
    const wanted = q.limit + 1;
    const found: T[] = [];

    if (q.endingBefore !== undefined) {
      const cursor = this.cursor(q.endingBefore, "ending_before");
      for (let i = Math.max(lo, lowerBound(arr, cursor.created, cursor.seq + 1)); i < hi; i++) {
        if (matches(arr[i].obj) && found.push(arr[i].obj) === wanted) break;
      }
      const hasMore = found.length > q.limit;
      return { data: found.slice(0, q.limit).reverse(), hasMore };
    }

    let start = hi - 1;
    if (q.startingAfter !== undefined) {
      const cursor = this.cursor(q.startingAfter, "starting_after");
      start = Math.min(start, lowerBound(arr, cursor.created, cursor.seq) - 1);
    }
    for (let i = start; i >= lo; i--) {
      if (matches(arr[i].obj) && found.push(arr[i].obj) === wanted) break;
    }
    const hasMore = found.length > q.limit;
    return { data: found.slice(0, q.limit), hasMore };
  }

  clear(): void {
    this.byId.clear();
    this.all = new SortedBucket<T>();
    for (const index of this.indexes.values()) index.buckets.clear();
    this.seq = 0;
  }

  private cursor(id: string, param: string): Entry<T> {
    const entry = this.byId.get(id);
    if (!entry) throw resourceMissing(this.label, id, param);
    return entry;
  }

  /** Walk the smallest matching bucket; the other equality filters become a predicate. */
  private chooseSource(where: Record<string, string | undefined> = {}): {
    source: SortedBucket<T> | undefined;
    rest: Array<[Index<T>, string]>;
  } {
    const constraints: Array<[Index<T>, string]> = [];
    for (const [name, value] of Object.entries(where)) {
      if (value === undefined) continue;
      const index = this.indexes.get(name);
      if (!index) throw new Error(`${this.label} has no index named ${name}`);
      constraints.push([index, value]);
    }
    if (constraints.length === 0) return { source: this.all, rest: [] };
    let best = -1;
    let bestSize = Infinity;
    constraints.forEach(([index, value], i) => {
      const size = index.buckets.get(value)?.size ?? 0;
      if (size < bestSize) {
        best = i;
        bestSize = size;
      }
    });
    const [index, value] = constraints[best];
    return {
      source: index.buckets.get(value),
      rest: constraints.filter((_, i) => i !== best),
    };
  }
}

function bucketAdd<T>(index: Index<T>, key: string | null | undefined, entry: Entry<T>): void {
  if (key === null || key === undefined) return;
  let bucket = index.buckets.get(key);
  if (!bucket) index.buckets.set(key, (bucket = new SortedBucket<T>()));
  bucket.add(entry);
}

function bucketRemove<T>(index: Index<T>, key: string | null | undefined, entry: Entry<T>): void {
  if (key === null || key === undefined) return;
  index.buckets.get(key)?.remove(entry);
}

function maxDefined(a: number | undefined, b: number | undefined): number | undefined {
  if (a === undefined) return b;
  if (b === undefined) return a;
  return Math.max(a, b);
}

function minDefined(a: number | undefined, b: number | undefined): number | undefined {
  if (a === undefined) return b;
  if (b === undefined) return a;
  return Math.min(a, b);
}
