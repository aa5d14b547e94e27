/**
 * State that belongs to the process rather than to one evaluation of a module: the database, the
 * env view, the Stripe client, the webhook worker, the reconciliation lock, the generated session
 * secret, the console's status line. server.ts mounts what the Remix build exports, so each module
 * is loaded once per process (docs/decisions/009-one-app-per-process.md); a module evaluated again
 * (vitest evaluates modules afresh for each test file of a worker; a dev server that re-imports the
 * build) must find this state, not make a second pool or worker. This is the one place that reaches
 * into `globalThis`; `grep -rn "remember(" app jobs` lists everything kept there.
 */
const store = ((
  globalThis as { __creditdeskRemembered?: Map<string, unknown> }
).__creditdeskRemembered ??= new Map<string, unknown>());

/** The value remembered under `name`, made by `make` the first time it is asked for. */
export function remember<T>(name: string, make: () => T): T {
  if (!store.has(name)) store.set(name, make());
  return store.get(name) as T;
}
