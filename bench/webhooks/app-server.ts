/**
 * The real app (server.ts) as a child process of the webhook benchmark: configuration comes
 * from the environment the benchmark sets; prints "READY <url>" once it listens.
 */
import { startServer } from "../../server";

const running = await startServer({ port: Number(process.env.PORT ?? 0), host: "127.0.0.1" });
process.stdout.write(`READY ${running.url}\n`);
process.on("SIGTERM", () => {
  running.close().then(
    () => process.exit(0),
    () => process.exit(1),
  );
});
