// Moved to the client-safe folder; this path stays for existing server imports.
export * from "~/shared/options";
