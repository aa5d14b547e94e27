// The user page's read model is a presenter now; this path stays for existing imports.
export * from "~/presenters/user-detail.server";
