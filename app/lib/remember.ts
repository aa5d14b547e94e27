/**
 * Process-global state, kept across re-imports of the same module: `npm run dev` re-imports the
 * Remix build after each rebuild, and a database pool, a worker or a cache made by the old copy
 * must be found, not made again, by the new one. Since server.ts mounts what the build exports
 * (docs/decisions/009-one-app-per-process.md), each module has one copy per process otherwise;
 * this is the one place that reaches into `globalThis`.
 */
const store = ((
  globalThis as { __creditdeskRemembered?: Map<string, unknown> }
).__creditdeskRemembered ??= new Map<string, unknown>());

/** The value remembered under `name`, made by `make` the first time it is asked for. */
export function remember<T>(name: string, make: () => T): T {
  if (!store.has(name)) store.set(name, make());
  return store.get(name) as T;
}
