/**
 * Start-up and shutdown hooks, so features that run beside the web server (demo mode's emulator,
 * the scheduler) plug in without the server knowing about each of them.
 */
export type StartPhase = "before-database" | "after-database" | "listening";
type StartHook = (info: { url?: string }) => Promise<void> | void;
type StopHook = () => Promise<void> | void;

const hooks: { phase: StartPhase; name: string; run: StartHook }[] = [];
const stops: { name: string; run: StopHook }[] = [];

export function onStart(phase: StartPhase, name: string, run: StartHook): void {
  hooks.push({ phase, name, run });
}

export function onStop(name: string, run: StopHook): void {
  stops.push({ name, run });
}

export async function startHooks(phase: StartPhase, info: { url?: string } = {}): Promise<void> {
  for (const hook of hooks.filter((h) => h.phase === phase)) await hook.run(info);
}

/** Stop in reverse order of registration. */
export async function stopHooks(): Promise<void> {
  for (const stop of stops.splice(0).reverse()) await stop.run();
}
