/**
 * Compile server.ts into build/server.js and jobs/worker.ts into build/jobs-worker.js (each with
 * the app modules it imports), so `npm start` and `npm run jobs` run plain JavaScript instead of
 * loading tsx: a process then starts in about a second instead of several, sits about 100 MB lower
 * (tsx keeps a loader thread, esbuild and source maps in every process — see the Dashboard section
 * of docs/benchmarks.md), and stops paying for source-mapped stack traces, which the Stripe SDK
 * asks for on every request (about 5% of a reconciliation run's CPU under tsx).
 *
 *   node scripts/build-server.mjs        (npm start and npm run jobs run it first)
 *
 * Like the Remix build, node_modules stay external and are loaded by Node at run time. Every
 * module keeps its own `import.meta.url` (the URL of its source file), so code that finds files
 * relative to itself (server.ts: build/ and public/; migrations: prisma/) behaves exactly as under
 * tsx. `npm run dev`, the CLI and the tests keep running the TypeScript through tsx.
 */
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
  console.log(`[build-server] ${outfile} in ${Math.round(performance.now() - started)} ms`);
}

// `node scripts/build-server.mjs --entry bench/x.ts --out build/bench/x.js` compiles one other
// entry point the same way (the reconciliation benchmark measures compiled code, as deployed).
const args = process.argv.slice(2);
const option = (name) => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : undefined;
};
if (option("--entry")) {
  const out = option("--out");
  if (!out) throw new Error("--entry needs --out");
  await compileEntry(option("--entry"), out);
} else {
  await compileEntry("server.ts", "build/server.js");
  await compileEntry("jobs/worker.ts", "build/jobs-worker.js");
}
