/**
 * Compile server.ts into build/server.js and jobs/worker.ts into build/jobs-worker.js (each with
 * the app modules it imports), so `npm start` and `npm run jobs` run plain JavaScript instead of
 * loading tsx: a process then starts in about a second instead of several, sits about 100 MB lower
 * (tsx keeps a loader thread, esbuild and source maps in every process — see the Dashboard section
 * of docs/benchmarks.md), and stops paying for source-mapped stack traces, which the Stripe SDK
 * asks for on every request (about 5% of a reconciliation run's CPU under tsx).
 *
 *   node scripts/build-server.mjs          (npm run build and npm run jobs run it)
 *   node scripts/build-server.mjs --start  (npm start: also the Remix build, and the database)
 *
 * `--start` is the first thing a newcomer runs, so it says what it does, hides the bundler's
 * chatter (shown only if the build fails), and runs the Remix build and the creation of the
 * embedded database (scripts/prepare-database.ts) at the same time: on a first start these are
 * most of the wait (docs/benchmarks.md, "First start").
 *
 * Like the Remix build, node_modules stay external and are loaded by Node at run time. Every
 * module keeps its own `import.meta.url` (the URL of its source file), so code that finds files
 * relative to itself (server.ts: build/ and public/; migrations: prisma/) behaves exactly as under
 * tsx. `npm run dev`, the CLI and the tests keep running the TypeScript through tsx.
 */
import { spawn } from "node:child_process";
import { readFile } from "node:fs/promises";
import path from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { build } from "esbuild";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");

/** Replace `import.meta.url` in each bundled source file by that file's own URL. */
const ownImportMetaUrl = {
  name: "own-import-meta-url",
  setup(b) {
    b.onLoad({ filter: /\.(ts|tsx)$/ }, async (args) => {
      const source = await readFile(args.path, "utf8");
      return {
        contents: source.replace(
          /\bimport\.meta\.url\b/g,
          JSON.stringify(pathToFileURL(args.path).href),
        ),
        loader: args.path.endsWith(".tsx") ? "tsx" : "ts",
      };
    });
  },
};

/**
 * Bundle one TypeScript entry point into `outfile` (relative to the repository). The banner makes
 * `process.argv[1]` the entry's source path, so its "am I the script Node was asked to run?" check
 * (`process.argv[1] === fileURLToPath(import.meta.url)`) holds for the compiled file too.
 */
async function compileEntry(entry, outfile) {
  const started = performance.now();
  await build({
    entryPoints: [path.join(root, entry)],
    outfile: path.join(root, outfile),
    bundle: true,
    platform: "node",
    format: "esm",
    target: "node20",
    packages: "external",
    alias: { "~": path.join(root, "app") },
    plugins: [ownImportMetaUrl],
    banner: {
      js: [
        `// Compiled from ${entry} by scripts/build-server.mjs; do not edit.`,
        'import { fileURLToPath as __entryFileURLToPath } from "node:url";',
        `process.argv[1] = __entryFileURLToPath(new URL(${JSON.stringify(path.relative(path.dirname(path.join(root, outfile)), path.join(root, entry)))}, import.meta.url));`,
      ].join("\n"),
    },
    logLevel: "warning",
  });
  if (!quiet)
    console.log(`[build-server] ${outfile} in ${Math.round(performance.now() - started)} ms`);
}

/** Run a command, keeping its output; resolves with its exit code and what it printed. */
function runQuietly(command, commandArgs, env) {
  return new Promise((resolve) => {
    const child = spawn(command, commandArgs, {
      cwd: root,
      env: { ...process.env, ...env },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let output = "";
    child.stdout.on("data", (chunk) => (output += chunk));
    child.stderr.on("data", (chunk) => (output += chunk));
    child.on("error", (error) => resolve({ code: 1, output: `${output}${error.message}\n` }));
    child.on("close", (code) => resolve({ code: code ?? 1, output }));
  });
}

/** npm start: both builds, and the embedded database, before `node build/server.js`. */
async function buildForStart() {
  const started = performance.now();
  const seconds = () => ((performance.now() - started) / 1000).toFixed(1);
  console.log("Building creditdesk (dashboard and server)…");
  await compileEntry("server.ts", "build/server.js");
  await compileEntry("jobs/worker.ts", "build/jobs-worker.js");
  await compileEntry("scripts/prepare-database.ts", "build/prepare-database.js");
  // The Remix CLI loads Vite's CommonJS build, which prints a deprecation notice that concerns
  // Remix, not whoever runs `npm start`.
  const remix = runQuietly(process.execPath, [remixCli(), "build"], {
    VITE_CJS_IGNORE_WARNING: "true",
  });
  // Its own lines go straight to the console; it prints nothing when there is nothing to create.
  let prepare;
  const database = new Promise((resolve) => {
    const child = (prepare = spawn(
      process.execPath,
      [path.join(root, "build/prepare-database.js")],
      {
        cwd: root,
        env: { ...process.env, LOG_LEVEL: process.env.LOG_LEVEL ?? "warn" },
        stdio: ["ignore", "inherit", "inherit"],
      },
    ));
    child.on("error", () => resolve());
    child.on("close", () => resolve());
  });
  const build = await remix;
  if (build.code !== 0) {
    process.stderr.write(build.output);
    console.error(`The Remix build failed (exit code ${build.code}).`);
    prepare.kill("SIGTERM");
    await database;
    process.exit(1);
  }
  console.log(`Dashboard built in ${seconds()} s.`);
  await database;
}

function remixCli() {
  return path.join(root, "node_modules/@remix-run/dev/dist/cli.js");
}

// `node scripts/build-server.mjs --entry bench/x.ts --out build/bench/x.js` compiles one other
// entry point the same way (the reconciliation benchmark measures compiled code, as deployed).
const args = process.argv.slice(2);
const option = (name) => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : undefined;
};
const quiet = args.includes("--start");
if (quiet) {
  await buildForStart();
} else if (option("--entry")) {
  const out = option("--out");
  if (!out) throw new Error("--entry needs --out");
  await compileEntry(option("--entry"), out);
} else {
  await compileEntry("server.ts", "build/server.js");
  await compileEntry("jobs/worker.ts", "build/jobs-worker.js");
}
