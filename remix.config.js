/** @type {import('@remix-run/dev').AppConfig} */
export default {
  ignoredRouteFiles: ["**/.*", "**/*.test.{ts,tsx}"],
  serverModuleFormat: "esm",
  serverPlatform: "node",
  // The generated Prisma client and services are TypeScript under app/ and get bundled;
  // node_modules stay external and are loaded by Node at run time.
  future: {
    v3_fetcherPersist: true,
    v3_relativeSplatPath: true,
    v3_throwAbortReason: true,
    v3_lazyRouteDiscovery: true,
    v3_singleFetch: true,
    // v3_routeConfig is the one v3 flag the classic compiler cannot use: it needs Vite to load
    // app/routes.ts (Remix asserts a Vite context). Flat file routes stay until the move to Vite.
    v3_routeConfig: false,
  },
};
