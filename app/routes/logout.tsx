import type { ActionFunctionArgs } from "@remix-run/node";
import { redirect } from "@remix-run/node";
import { destroySession } from "~/services/auth/session.server";

export async function action({ request }: ActionFunctionArgs) {
  const cookie = await destroySession(request);
  throw redirect("/login", { headers: { "Set-Cookie": cookie } });
}

export async function loader() {
  // Signing out changes state, so it only happens through the POST form in the layout.
  throw redirect("/");
}
