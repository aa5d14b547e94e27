import { commands } from "./commands/index";
import { run } from "./cli-runner";
import "../app/services/demo/cli.server";
import { useLogDestination } from "../app/services/infra/logger.server";

// Logs go to stderr: stdout carries only the command's output (one JSON object with --json).
useLogDestination("stderr");

// `npm run cli -- <command> [options]`: exit 0 success, 1 failure, 2 usage error (3: lock held).
const code = await run(process.argv.slice(2), commands, {
  stdout: process.stdout,
  stderr: process.stderr,
  stdin: process.stdin,
});
process.exitCode = code;
