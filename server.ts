import path from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import type { Server } from "node:http";
import type { ServerBuild } from "@remix-run/node";

/**
 * `npm start`: a thin launcher around the Remix build. Everything the process runs — the HTTP app
 * (dashboard guards, /healthz, the Stripe webhook endpoint, the CSV exports, the Remix routes),
 * the webhook worker, env, logging, the database — comes from the build's `server` export
 * (app/http/app.server.ts, re-exported by app/entry.server.tsx), so each module exists once in the
 * process (docs/decisions/009-one-app-per-process.md). This file only imports types from app/.
 */
type ServerApp = typeof import("./app/http/app.server");

const root = path.dirname(fileURLToPath(import.meta.url));

export interface RunningServer {
  server: Server;
  url: string;
  close(): Promise<void>;
}

/** The app module inside a Remix build (the build's copy of app/http/app.server.ts). */
export function appOf(build: ServerBuild): ServerApp {
  const app = (build.entry.module as { server?: ServerApp }).server;
  if (!app) throw new Error("the Remix build has no `server` export: run `npx remix build`");
  return app;
}

export async function loadBuild(): Promise<ServerBuild> {
  return (await import(pathToFileURL(path.join(root, "build/index.js")).href)) as ServerBuild;
}

/** Build the HTTP app around the Remix build; the database must already be open. */
export async function createApp(build: ServerBuild) {
  return appOf(build).createApp(build, { publicDir: path.join(root, "public") });
}

let hooksInstalled = false;
/** The start-up hooks, registered here, explicitly, once per process. */
function installStartupHooks(app: ServerApp) {
  if (hooksInstalled) return;
  hooksInstalled = true;
  app.startupHooks.demo();
  app.startupHooks.embeddedShare();
  app.startupHooks.scheduler();
}

export async function startServer(
  opts: { port?: number; host?: string; build?: ServerBuild } = {},
): Promise<RunningServer> {
  const build = opts.build ?? (await loadBuild());
  const {
    getEnv,
    startHooks,
    stopHooks,
    onStop,
    getDatabase,
    openDatabaseForServer,
    startWorkers,
  } = appOf(build);
  const env = getEnv();
  installStartupHooks(appOf(build));
  await startHooks("before-database");
  await openDatabaseForServer();
  await startHooks("after-database");
  onStop("webhook-queue", startWorkers());
  const app = await createApp(build);
  const port = opts.port ?? env.PORT;
  const host = opts.host ?? env.HOST;
  const server = await new Promise<Server>((resolve, reject) => {
    const s = app.listen(port, host, () => resolve(s));
    s.once("error", reject);
  });
  const address = server.address() as { port: number };
  const url = `http://${host === "0.0.0.0" ? "localhost" : host}:${address.port}`;
  await startHooks("listening", { url });
  let closing: Promise<void> | undefined;
  return {
    server,
    url,
    close() {
      // Stop taking requests, let in-flight ones finish, stop jobs, then release the database.
      closing ??= (async () => {
        await new Promise<void>((resolve) => server.close(() => resolve()));
        await stopHooks();
        await getDatabase().close();
      })();
      return closing;
    },
  };
}

async function main() {
  let running: RunningServer;
  let demoMode = false;
  let build: ServerBuild;
  try {
    build = await loadBuild();
  } catch (error) {
    const missing = (error as NodeJS.ErrnoException).code === "ERR_MODULE_NOT_FOUND";
    console.error(
      missing
        ? `creditdesk could not start: no Remix build at build/index.js (run \`npx remix build\`).`
        : `creditdesk could not start:\n${(error as Error).stack ?? String(error)}`,
    );
    process.exit(1);
  }
  const { ConfigError, getEnv, logFormat, logger, onStart, printLine, scrubSecrets } = appOf(build);
  try {
    // Say what is happening from the first second; each step logs when it is done.
    const env = getEnv();
    demoMode = env.demoMode;
    logger.info({ mode: demoMode ? "demo" : env.NODE_ENV }, "starting creditdesk");
    onStart("before-database", "announce-database", () =>
      logger.info("opening the database (and applying any pending migrations)"),
    );
    running = await startServer({ build });
  } catch (error) {
    // A stack trace only for the unexpected: a bad setting or a busy port is said in one line.
    const code = (error as NodeJS.ErrnoException).code;
    const message =
      error instanceof ConfigError
        ? error.message
        : code === "EADDRINUSE"
          ? `${(error as Error).message}: another process listens on that port (stop it, or set PORT).`
          : ((error as Error).stack ?? String(error));
    console.error(`creditdesk could not start:\n${scrubSecrets(message)}`);
    process.exit(1);
  }
  logger.info({ url: running.url }, "creditdesk listening");
  // JSON logs are for machines (the record above has the URL); this line is for a person.
  if (demoMode || logFormat() === "pretty")
    printLine(`\ncreditdesk is running at ${running.url}\n`);
  let shuttingDown = false;
  for (const signal of ["SIGTERM", "SIGINT"] as const) {
    process.on(signal, () => {
      if (shuttingDown) return;
      shuttingDown = true;
      logger.info({ signal }, "shutting down");
      const force = setTimeout(() => process.exit(1), 15_000);
      force.unref();
      running.close().then(
        () => process.exit(0),
        (error) => {
          logger.error({ err: (error as Error).message }, "error during shutdown");
          process.exit(1);
        },
      );
    });
  }
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  await main();
}
