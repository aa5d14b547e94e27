/**
 * Compile server.ts (and the app modules it imports) into build/server.js, so `npm start` runs
 * plain JavaScript instead of loading tsx: the process then starts in about a second instead of
 * several, and sits about 100 MB lower (tsx keeps a loader thread, esbuild and source maps in every
 * server process) — see the Dashboard section of docs/benchmarks.md.
 *
 *   node scripts/build-server.mjs        (npm start runs it after `remix build`)
 *
 * Like the Remix build, node_modules stay external and are loaded by Node at run time. Every
 * module keeps its own `import.meta.url` (the URL of its source file), so code that finds files
 * relative to itself (server.ts: build/ and public/; migrations: prisma/) behaves exactly as under
 * tsx. `npm run dev` and the tests keep running the TypeScript through tsx.
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

const started = performance.now();
await build({
  entryPoints: [path.join(root, "server.ts")],
  outfile: path.join(root, "build/server.js"),
  bundle: true,
  platform: "node",
  format: "esm",
  target: "node20",
  packages: "external",
  alias: { "~": path.join(root, "app") },
  plugins: [ownImportMetaUrl],
  // server.ts starts listening only when it is the script Node was asked to run
  // (process.argv[1] === server.ts); this file stands in for it.
  banner: {
    js: [
      "// Compiled from server.ts by scripts/build-server.mjs; do not edit.",
      'import { fileURLToPath as __serverFileURLToPath } from "node:url";',
      'process.argv[1] = __serverFileURLToPath(new URL("../server.ts", import.meta.url));',
    ].join("\n"),
  },
  logLevel: "warning",
});
console.log(`[build-server] build/server.js in ${Math.round(performance.now() - started)} ms`);
