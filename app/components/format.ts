// Formatting lives in ~/shared/format (one formatter for pages, previews and server messages).
export * from "~/shared/format";
