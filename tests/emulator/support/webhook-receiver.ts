import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import Stripe from "stripe";

export interface ReceivedWebhook {
  body: string;
  signature: string;
  eventId: string;
  eventType: string;
}

/** A stand-in for the app's webhook route: records raw bodies and answers with `respond`. */
export class WebhookReceiver {
  readonly received: ReceivedWebhook[] = [];
  respond: (hook: ReceivedWebhook, index: number) => number | Promise<number> = () => 200;
  url = "";
  private readonly server = createServer((req, res) => this.handle(req, res));

  static async start(path = "/webhooks/stripe"): Promise<WebhookReceiver> {
    const receiver = new WebhookReceiver();
    await new Promise<void>((resolve) => receiver.server.listen(0, "127.0.0.1", resolve));
    receiver.url = `http://127.0.0.1:${(receiver.server.address() as AddressInfo).port}${path}`;
    return receiver;
  }

  private handle(req: IncomingMessage, res: ServerResponse): void {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const body = Buffer.concat(chunks).toString("utf8");
      const parsed = JSON.parse(body) as { id: string; type: string };
      const hook: ReceivedWebhook = {
        body,
        signature: String(req.headers["stripe-signature"] ?? ""),
        eventId: parsed.id,
        eventType: parsed.type,
      };
      const index = this.received.push(hook) - 1;
      void Promise.resolve(this.respond(hook, index)).then((status) => {
        res.writeHead(status, { "Content-Type": "application/json" });
        res.end(JSON.stringify({ received: status < 300 }));
      });
    });
  }

  /** What the app does: verify the signature with the SDK, or fail. */
  verify(hook: ReceivedWebhook, secret: string): Stripe.Event {
    return Stripe.webhooks.constructEvent(hook.body, hook.signature, secret);
  }

  verifies(hook: ReceivedWebhook, secret: string): boolean {
    try {
      this.verify(hook, secret);
      return true;
    } catch (err) {
      if (err instanceof Stripe.errors.StripeSignatureVerificationError) return false;
      throw err;
    }
  }

  clear(): void {
    this.received.length = 0;
    this.respond = () => 200;
  }

  async stop(): Promise<void> {
    await new Promise<void>((resolve) => {
      this.server.close(() => resolve());
      this.server.closeAllConnections();
    });
  }
}
