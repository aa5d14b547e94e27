import { useRouteLoaderData } from "@remix-run/react";
import { stripeDashboardUrl } from "~/shared/stripe-links";

/**
 * "View in Stripe" for a cus_/cs_/pi_/ch_/re_/dp_/evt_/in_/sub_ id. Hidden in demo mode: the
 * objects live in the built-in emulator, which has no dashboard pages to link to.
 */
export function StripeLink({ id, livemode }: { id: string; livemode: boolean }) {
  const app = useRouteLoaderData<{ demoMode?: boolean }>("routes/_app");
  const url = stripeDashboardUrl(id, livemode);
  if (!url || app?.demoMode) return null;
  return (
    <a href={url} target="_blank" rel="noreferrer noopener" className="small">
      View in Stripe{livemode ? "" : " (test)"}
    </a>
  );
}
