import { getEnv } from "../infra/env.server";
import { onStart, onStop } from "../infra/lifecycle.server";

/**
 * Demo mode for CLI commands (jobs/cli.ts imports this module once). A command that opens the
 * database in demo mode gets the demo Stripe account too — `npm run cli -- reconcile` lists the
 * emulator's sessions like Stripe's. It runs after the database is open, so the embedded
 * database's lock has already refused a second process; and it loads a copy of the saved state,
 * so a command never overwrites what the server saved.
 */
onStart("after-database", "demo-stripe", async () => {
  if (!getEnv().demoMode) return;
  const { startDemoStripe } = await import("./stripe.server");
  const demo = await startDemoStripe({ writable: false });
  onStop("demo-stripe", () => demo.stop());
});
