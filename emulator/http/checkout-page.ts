import type { EmulatorCore } from "../core";
import type { CheckoutSession } from "../objects/checkout-session";
import { formatMoney } from "../objects/common";
import type { Ledger } from "../state/ledger";

function escapeHtml(value: unknown): string {
  return String(value ?? "").replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** Stripe fills `{CHECKOUT_SESSION_ID}` in the success URL with the session id. */
export function completedRedirect(session: CheckoutSession, url: string | null): string | null {
  return url ? url.replaceAll("{CHECKOUT_SESSION_ID}", session.id) : null;
}

/** A stand-in for Stripe's hosted payment page, for demos: pay by card, by bank debit, or cancel. */
export function renderCheckoutPage(
  core: EmulatorCore,
  ledger: Ledger,
  session: CheckoutSession,
): string {
  const items = core.renderLineItems(
    ledger,
    ledger.sessionDetails.get(session.id)?.lineItems ?? [],
  );
  const rows = items
    .map(
      (item) =>
        `<tr><td>${escapeHtml(item.description)}</td><td>× ${escapeHtml(item.quantity)}</td><td>${formatMoney(Number(item.amount_total), String(item.currency))}</td></tr>`,
    )
    .join("");
  const base = `/_emulator/checkout/${encodeURIComponent(session.id)}`;
  const email = session.customer_email ?? session.customer_details?.email ?? "";
  let actions: string;
  if (session.status === "open") {
    actions = `
      <form method="post" action="${base}/pay">
        <label>Email <input type="email" name="email" value="${escapeHtml(email)}"></label>
        <button name="card" value="success">Pay ${formatMoney(session.amount_total, session.currency)} by card</button>
        ${session.mode === "payment" ? `<button name="card" value="async" class="secondary">Pay by bank debit (settles later)</button>` : ""}
      </form>
      <form method="post" action="${base}/cancel"><button class="link">Cancel and return</button></form>`;
  } else if (session.payment_status === "unpaid" && session.status === "complete") {
    actions = `
      <p>Bank debit in progress.</p>
      <form method="post" action="${base}/async/succeed"><button>Bank confirms the payment</button></form>
      <form method="post" action="${base}/async/fail"><button class="secondary">Bank rejects the payment</button></form>`;
  } else {
    actions = `<p>This session is <strong>${escapeHtml(session.status)}</strong> (${escapeHtml(session.payment_status)}).</p>`;
  }
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Checkout · Stripe emulator</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>
  body { font-family: system-ui, sans-serif; max-width: 32rem; margin: 3rem auto; padding: 0 1rem; color: #1a1f36; }
  h1 { font-size: 1.25rem; } .mode { background: #ffde92; padding: .1rem .4rem; border-radius: .25rem; font-size: .75rem; }
  table { width: 100%; border-collapse: collapse; margin: 1rem 0; } td { padding: .4rem 0; border-bottom: 1px solid #e3e8ee; }
  td:last-child { text-align: right; } label { display: block; margin: 1rem 0; } input { width: 100%; padding: .5rem; }
  button { display: block; width: 100%; margin: .5rem 0; padding: .7rem; border: 0; border-radius: .3rem; background: #635bff; color: white; font-size: 1rem; cursor: pointer; }
  button.secondary { background: #e3e8ee; color: #1a1f36; } button.link { background: none; color: #635bff; }
  code { font-size: .75rem; word-break: break-all; color: #697386; }
</style></head>
<body>
  <h1>Checkout ${session.livemode ? "" : '<span class="mode">TEST MODE</span>'}</h1>
  <table>${rows}<tr><td><strong>Total</strong></td><td></td><td><strong>${formatMoney(session.amount_total, session.currency)}</strong></td></tr></table>
  ${actions}
  <p><code>${escapeHtml(session.id)}</code></p>
</body></html>`;
}
