import { parseArgs } from "node:util";
import { z } from "zod";
import { EmulatorClock, startEmulator } from "./index";

const USAGE = `Usage: npm run emulator -- [options]

  --port N              listen port (default 12111, or EMULATOR_PORT)
  --host HOST           listen address (default 127.0.0.1)
  --webhook-url URL     create a webhook endpoint for all events (*) and print its signing secret
  --webhook-secret S    use this signing secret (whsec_…) for --webhook-url instead of a new one
  --seed N              reproducible ids and fault decisions
  --snapshot FILE       load state from FILE if it exists; save changes to it
  --clock UNIX          freeze the clock at this unix time (moves only via /_emulator/clock/advance)
  --time-factor F       divide webhook retry delays by F (default 1)
  --log-requests        print every API request
`;

const ArgsSchema = z.object({
  port: z.coerce.number().int().min(0).max(65535),
  host: z.string().min(1),
  webhookUrl: z.string().url().optional(),
  webhookSecret: z.string().startsWith("whsec_").optional(),
  seed: z.coerce.number().int().nonnegative().optional(),
  snapshot: z.string().min(1).optional(),
  clock: z.coerce.number().int().positive().optional(),
  timeFactor: z.coerce.number().positive(),
  logRequests: z.boolean(),
});

function readArgs() {
  const { values } = parseArgs({
    options: {
      port: { type: "string" },
      host: { type: "string" },
      "webhook-url": { type: "string" },
      "webhook-secret": { type: "string" },
      seed: { type: "string" },
      snapshot: { type: "string" },
      clock: { type: "string" },
      "time-factor": { type: "string" },
      "log-requests": { type: "boolean" },
      help: { type: "boolean", short: "h" },
    },
  });
  if (values.help) {
    console.log(USAGE);
    process.exit(0);
  }
  const parsed = ArgsSchema.safeParse({
    port: values.port ?? process.env.EMULATOR_PORT ?? 12111,
    host: values.host ?? "127.0.0.1",
    webhookUrl: values["webhook-url"],
    webhookSecret: values["webhook-secret"],
    seed: values.seed,
    snapshot: values.snapshot,
    clock: values.clock,
    timeFactor: values["time-factor"] ?? 1,
    logRequests: values["log-requests"] ?? false,
  });
  if (!parsed.success) {
    console.error(`Invalid options:\n${z.prettifyError(parsed.error)}\n\n${USAGE}`);
    process.exit(2);
  }
  return parsed.data;
}

async function main(): Promise<void> {
  const args = readArgs();
  const handle = await startEmulator({
    port: args.port,
    host: args.host,
    seed: args.seed,
    // A demo server follows real time unless a start time is asked for.
    clock: args.clock ?? EmulatorClock.wall(),
    snapshotPath: args.snapshot,
    timeFactor: args.timeFactor,
    logRequests: args.logRequests,
    webhookEndpoints: args.webhookUrl
      ? [{ url: args.webhookUrl, enabled_events: ["*"], secret: args.webhookSecret }]
      : [],
  });
  console.log(`Stripe emulator listening on ${handle.url}`);
  console.log(
    `  API      ${handle.url}/v1  (any sk_test_… or sk_live_… key; STRIPE_API_BASE=${handle.url})`,
  );
  console.log(`  Control  ${handle.url}/_emulator`);
  console.log(`  Seed     ${handle.seed}${args.snapshot ? `   Snapshot ${args.snapshot}` : ""}`);
  const state = handle.control.snapshot();
  for (const ledger of [state.ledgers.test, state.ledgers.live]) {
    const secrets = new Map(ledger.webhookSecrets);
    for (const endpoint of ledger.tables.webhookEndpoints) {
      console.log(
        `  Webhook  ${endpoint.id} → ${String(endpoint.url)} (${endpoint.livemode ? "live" : "test"} mode)`,
      );
      console.log(`STRIPE_WEBHOOK_SECRET=${secrets.get(endpoint.id) ?? ""}`);
    }
  }

  const shutdown = () => {
    void handle.stop().then(() => process.exit(0));
  };
  process.once("SIGINT", shutdown);
  process.once("SIGTERM", shutdown);
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? err.message : err);
  process.exit(1);
});
