import { randomUUID } from "node:crypto";
import { createCookie, redirect } from "@remix-run/node";
import { sessionSecret } from "../auth/session.server";
import { getEnv } from "../infra/env.server";

/**
 * One-shot messages ("Added 500 credits") carried across the POST → redirect → GET that follows
 * a successful form, so a reload never re-submits and the message shows once. The cookie holds
 * only the text, signed with the session secret so nobody can plant a message that looks like
 * the dashboard's own; the layout loader reads it and clears it in the same response.
 */

export type ToastKind = "success" | "info" | "error";

export interface Toast {
  id: string;
  kind: ToastKind;
  message: string;
}

const FLASH_COOKIE = "cd_flash";
let cookie: ReturnType<typeof createCookie> | undefined;
function flashCookie() {
  cookie ??= createCookie(FLASH_COOKIE, {
    httpOnly: true,
    sameSite: "lax",
    secure: getEnv().NODE_ENV === "production",
    path: "/",
    maxAge: 60,
    secrets: [sessionSecret()],
  });
  return cookie;
}

export async function toastCookie(kind: ToastKind, message: string): Promise<string> {
  return flashCookie().serialize({ id: randomUUID(), kind, message: message.slice(0, 500) });
}

/** Redirect after a successful action, with a toast for the next page. */
export async function redirectWithToast(
  url: string,
  kind: ToastKind,
  message: string,
  init: ResponseInit = {},
) {
  const headers = new Headers(init.headers);
  headers.append("Set-Cookie", await toastCookie(kind, message));
  return redirect(url, { ...init, headers });
}

function isToast(value: unknown): value is Toast {
  const v = value as Partial<Toast> | null;
  return Boolean(
    v &&
    typeof v.id === "string" &&
    typeof v.message === "string" &&
    (v.kind === "success" || v.kind === "info" || v.kind === "error"),
  );
}

/** The pending toast, if any, and the Set-Cookie header that clears it. */
export async function takeToast(
  request: Request,
): Promise<{ toast: Toast | null; headers?: HeadersInit }> {
  const header = request.headers.get("Cookie");
  if (!header || !header.includes(`${FLASH_COOKIE}=`)) return { toast: null };
  const value = (await flashCookie().parse(header)) as unknown;
  const clear = await flashCookie().serialize("", { maxAge: 0 });
  return { toast: isToast(value) ? value : null, headers: { "Set-Cookie": clear } };
}
