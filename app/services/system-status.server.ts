import { getDatabase } from "./infra/db.server";
import { getEnv } from "./infra/env.server";

export type StripeMode = "demo" | "test" | "live";

export function stripeMode(): StripeMode {
  const env = getEnv();
  if (env.demoMode) return "demo";
  return env.STRIPE_SECRET_KEY?.includes("_live_") ? "live" : "test";
}

/** What an operator needs to know about this installation at a glance (no secrets). */
export async function systemStatus() {
  const env = getEnv();
  const db = getDatabase();
  const [users, staff, purchases] = await Promise.all([
    db.prisma.user.count(),
    db.prisma.staffUser.count({ where: { disabledAt: null } }),
    db.prisma.purchase.count(),
  ]);
  return {
    database: db.description,
    stripeMode: stripeMode(),
    webhookUrl: `${env.appUrl}/webhooks/stripe`,
    webhookSecretsConfigured: env.webhookSecrets.length,
    scheduler: env.SCHEDULER,
    counts: { users, staff, purchases },
  };
}
