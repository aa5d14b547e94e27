import { apiRoute } from "~/services/api/operations.server";

// Declared in app/services/api/operations.server.ts; this file only places it under /api/v1.
const handler = apiRoute("/holds/{holdId}/capture");

export const loader = handler;
export const action = handler;
