// Stand-in for @prisma/streams-local (package.json "overrides"; why: README.md, Requirements).
// Only `prisma dev` (Prisma's local Postgres server) imports it, lazily; creditdesk never runs
// `prisma dev`, and `prisma generate` and the WebAssembly migrations never load it.
export async function startLocalDurableStreamsServer() {
  throw new Error(
    "`prisma dev` is not available in creditdesk: @prisma/streams-local (Node 22 or newer only) is " +
      "replaced by scripts/stubs/prisma-streams-local. creditdesk runs on PGlite or Postgres instead.",
  );
}
