/// <reference types="@remix-run/dev" />
/// <reference types="@remix-run/node" />

// Single fetch (future.v3_singleFetch) changes loader/action data types; opt the types in too.
declare module "@remix-run/node" {
  interface Future {
    v3_singleFetch: true;
  }
}
export {};
