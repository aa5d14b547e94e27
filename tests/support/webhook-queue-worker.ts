import { openAppDatabase } from "../../app/services/infra/bootstrap.server";
import { getEnv } from "../../app/services/infra/env.server";
import { startWebhookWorker } from "../../app/services/webhooks/queue.server";

/**
 * A process that only works the webhook event queue (the worker server.ts and `npm run jobs`
 * start), for tests that kill it mid-event: `node --import tsx tests/support/webhook-queue-worker.ts`
 * with DATABASE_URL and the Stripe settings in the environment. Stays up until it is killed.
 */
await openAppDatabase(getEnv(), { migrate: "never" });
startWebhookWorker({ concurrency: 1 });
// The worker's poll timer is unref'd; this keeps the process alive until a signal ends it.
setInterval(() => undefined, 60_000);
console.log("webhook queue worker ready");
