import { getEnv, setEnv } from "../infra/env.server";
import { onStart, onStop } from "../infra/lifecycle.server";
import {
  canShowStatus,
  hideRoutineLogs,
  logger,
  printLine,
  progressBar,
  setStatusLine,
} from "../infra/logger.server";
import type { DemoAdmin } from "./admin.server";
import type { DemoStripe } from "./stripe.server";

/**
 * Demo mode for `npm start` (server.ts installs these hooks once). With no STRIPE_SECRET_KEY
 * outside production (env.demoMode):
 *   before the database opens — the Stripe emulator starts in-process and becomes this process's
 *     Stripe (env view + SDK client), with the app's webhook endpoint and its signing secret;
 *   after it opens — the demo staff admin exists (created on first start);
 *   once listening — the login is printed, and on first start the demo data is seeded in the
 *     background through the emulator and the real webhook endpoint.
 * Heavy modules load only in demo mode, so a production start pays nothing for this.
 */

// Human lines for the person at the console (above the progress bar, if one is drawn).
const say = (text: string) => printLine(text);

let demo: DemoStripe | undefined;
let admin: DemoAdmin | undefined;

/** Register demo mode's start-up hooks (server.ts calls this once, through app/http/app.server.ts). */
export function installDemoHooks(): void {
  onStart("before-database", "demo-stripe", async () => {
    if (!getEnv().demoMode) return;
    logger.info("demo mode (no STRIPE_SECRET_KEY): starting the built-in Stripe emulator");
    const { startDemoStripe } = await import("./stripe.server");
    const started = await startDemoStripe({ writable: true });
    demo = started;
    onStop("demo-stripe", async () => {
      demo = undefined;
      await started.stop();
    });
  });

  onStart("after-database", "demo-admin", async () => {
    if (!demo) return;
    const { ensureDemoAdmin } = await import("./admin.server");
    logger.info("demo mode: checking the demo staff admin");
    admin = await ensureDemoAdmin(getEnv().DATA_DIR);
  });

  onStart("listening", "demo-seed", async ({ url }) => {
    if (!demo || !admin || !url) return;
    const current = demo;
    const env = getEnv();
    const port = new URL(url).port;
    // PORT=0 (or a port passed to startServer): follow the port actually bound.
    if (!env.APP_URL && new URL(env.appUrl).port !== port) {
      const appUrl = `http://localhost:${port}`;
      setEnv({ ...env, appUrl });
      await current.pointEndpointAt(`${appUrl}/webhooks/stripe`);
    }
    const { loginBox } = await import("./admin.server");
    const login = loginBox(getEnv().appUrl, admin);
    say(login);
    // Not a secret: the emulator accepts the public demo key, and its hosted checkout pages and
    // control routes (/_emulator, docs/emulator.md) are how to play the customer by hand.
    say(
      `[demo] Stripe emulator at ${current.emulator.url} (control pages: ${current.emulator.url}/_emulator)`,
    );

    // The demo endpoint: every outbound event goes to the app's own /_demo/receiver page. Set up
    // after the first start's seeding, so the thousands of events the seeding causes are not all
    // posted back to the server while it is still making the demo data.
    const setUpReceiver = async () => {
      try {
        const { ensureDemoEndpoint } = await import("./receiver.server");
        await ensureDemoEndpoint(getEnv().appUrl);
        say(
          `[demo] Outbound events to the product are listed as they arrive at ${getEnv().appUrl}/_demo/receiver (endpoint on /outbound)`,
        );
      } catch (error) {
        logger.warn({ err: error }, "demo mode: the demo event receiver could not be set up");
      }
    };

    const { readSeedState } = await import("./seed-state.server");
    const state = await readSeedState();
    const seeding = !state && env.DEMO_SEED;
    if (!seeding) {
      await current.persist();
      await setUpReceiver();
    }
    if (state?.status === "done") {
      say(
        `[demo] Demo data was created at first start (${state.finishedAt}); restarting keeps it. ` +
          "Start over with: npm run cli -- demo reset",
      );
      return;
    }
    if (state) {
      say(
        `[demo] Seeding demo data did not finish (${state.status === "failed" ? state.error : "the server stopped while it ran"}). ` +
          "Start over with: npm run cli -- demo reset",
      );
      return;
    }
    if (!env.DEMO_SEED) {
      say("[demo] DEMO_SEED=false: the demo starts with an empty Stripe account and no users.");
      return;
    }

    const { seedDemo, SeedAborted, DEMO_SEED } = await import("./seed.server");
    const { writeSeedState } = await import("./seed-state.server");
    const controller = new AbortController();
    const startedAt = new Date().toISOString();
    // On a terminal a progress bar says what is happening, so the hundreds of routine log lines
    // the seeding causes (one per purchase credited…) are held back; warnings still print.
    const bar = canShowStatus();
    const endHiding = bar ? hideRoutineLogs() : undefined;
    const finishBar = () => {
      setStatusLine(undefined);
      const hidden = endHiding?.() ?? 0;
      if (hidden > 0)
        say(
          `[demo] (${hidden.toLocaleString("en-US")} routine log lines were not shown while the demo data was made; LOG_FORMAT=json shows every line.)`,
        );
    };
    // Not awaited: the server answers requests while the seeding feeds it webhooks.
    const run = seedDemo({
      demo: current,
      signal: controller.signal,
      log: (line) => say(`[demo] ${line}`),
      progress: bar
        ? (p) =>
            setStatusLine(
              `[demo] Seeding ${progressBar(p.day, p.days, 20)} day ${p.day}/${p.days} · ` +
                `${p.purchases.toLocaleString("en-US")} purchases · ${(p.elapsedMs / 1000).toFixed(0)} s`,
            )
        : undefined,
    }).then(
      async (summary) => {
        finishBar();
        await setUpReceiver();
        const e = summary.expected;
        say(
          [
            "",
            `[demo] Demo data ready in ${(summary.durationMs / 1000).toFixed(1)} s: ${e.users} users, ` +
              `${summary.purchasesAtEnd.toLocaleString("en-US")} purchases credited by webhooks, ${e.refunds} refunds, ` +
              `${e.disputes} open dispute, ${e.subscriptions} Pro subscriptions, ${e.usageDebits.toLocaleString("en-US")} usage debits.`,
            `[demo] ${e.droppedPurchases} paid purchases had their webhooks dropped on purpose and are not credited yet;` +
              ` ${e.unmatchedSessions} paid sessions match no user (see the attention items).`,
            `[demo] Credit them: open ${getEnv().appUrl}/reconciliation and press Run now`,
            "[demo] (or, in another terminal: npm run cli -- reconcile).",
            loginBox(getEnv().appUrl, admin as DemoAdmin),
          ].join("\n"),
        );
      },
      async (error: unknown) => {
        finishBar();
        if (error instanceof SeedAborted) {
          say(`[demo] ${error.message} Start over with: npm run cli -- demo reset`);
          return;
        }
        const message = error instanceof Error ? error.message : String(error);
        say(
          `[demo] Seeding demo data failed: ${message}\n[demo] Start over with: npm run cli -- demo reset`,
        );
        await writeSeedState({
          status: "failed",
          seed: DEMO_SEED,
          startedAt,
          finishedAt: new Date().toISOString(),
          error: message,
        }).catch(() => undefined);
      },
    );
    onStop("demo-seed", async () => {
      controller.abort();
      await run;
    });
  });
}
