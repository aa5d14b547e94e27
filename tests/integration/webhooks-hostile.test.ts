import http, { type Server } from "node:http";
import net from "node:net";
import type { AddressInfo } from "node:net";
import express from "express";
import Stripe from "stripe";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { getDb } from "../../app/services/infra/db.server";
import { syncPacks } from "../../app/services/packs.server";
import { recordDelivery } from "../../app/services/webhooks/delivery-log.server";
import { stripeWebhookEndpoint } from "../../app/services/webhooks/http-endpoint.server";
import { DISCARD_BYTES, MAX_WEBHOOK_BODY_BYTES } from "../../app/services/webhooks/ingest.server";
import { checkSignedBody, MAX_JSON_DEPTH } from "../../app/services/webhooks/payload.server";
import {
  balanceOf,
  createPrice,
  createUser,
  eventOf,
  paidSession,
  sendRaw,
  signedRequest,
  useMoneyPath,
} from "../support/money-path";
import { useTestDatabase } from "../support/test-database";

/**
 * What a hostile sender can put in a webhook request — with the signing secret (a leaked secret,
 * a buggy forwarder) or without — and the answer each gets: a clear 4xx naming what is wrong, a
 * delivery row saying the same, nothing stored in the event queue and nothing credited. Never a
 * 500, which would have Stripe retry the same bytes for days.
 */

useTestDatabase();
const mp = useMoneyPath();

let priceId: string;
beforeAll(async () => {
  priceId = (await createPrice(mp.ctx.stripe, { credits: 100, unitAmount: 1000 })).id;
  await syncPacks();
});

async function lastDelivery() {
  return getDb().webhookDelivery.findFirstOrThrow({ orderBy: { id: "desc" } });
}

/** A real, paid checkout.session.completed event: stored as is, it would credit 100. */
async function paidEvent() {
  const user = await createUser();
  const session = await paidSession(mp.ctx, { priceId, clientReferenceId: user.id });
  const event = await eventOf(mp.ctx.stripe, session.id, "checkout.session.completed");
  return { user, event: event as unknown as Record<string, unknown> & { id: string } };
}

/** Send a body signed with the endpoint's secret; assert nothing was stored or credited. */
async function refusedSigned(body: string | Buffer, userId?: string) {
  const eventsBefore = await getDb().stripeEvent.count();
  const entriesBefore = await getDb().ledgerEntry.count();
  const res = await sendRaw(signedRequest(body, { secret: mp.ctx.secret }));
  expect(await getDb().stripeEvent.count()).toBe(eventsBefore);
  expect(await getDb().ledgerEntry.count()).toBe(entriesBefore);
  if (userId) expect(await balanceOf(userId)).toBe(0);
  const delivery = await lastDelivery();
  // Recorded as a correctly signed but malformed delivery, with the answer's reason.
  expect(delivery).toMatchObject({
    signatureStatus: "valid",
    outcome: "malformed",
    responseStatus: 400,
    bodySize: Buffer.byteLength(body),
    error: res.body.error?.message,
  });
  expect(res.status).toBe(400);
  return { res, delivery };
}

describe("signed payloads the database cannot store", () => {
  it("\\u0000 in a string: 400 unstorable_payload naming where, recorded, not queued", async () => {
    const { user, event } = await paidEvent();
    const object = (event.data as { object: Record<string, unknown> }).object;
    object.metadata = { note: "before\u0000after" };
    const payload = JSON.stringify(event);
    expect(payload).toContain("\\u0000");
    const { res, delivery } = await refusedSigned(payload, user.id);
    expect(res.body.error).toEqual({
      code: "unstorable_payload",
      message:
        "The signed event contains \\u0000 (a NUL character) at data.object.metadata.note; the database cannot store it.",
    });
    // Refused before being stored: the event id is not taken, so a clean resend can still be stored.
    expect(delivery.eventId).toBeNull();
    expect(await getDb().stripeEvent.count({ where: { id: event.id } })).toBe(0);
  });

  it("\\u0000 in a key and in the event id: refused, and the delivery row is still written", async () => {
    const { user, event } = await paidEvent();
    const inKey = JSON.stringify({ ...event, ["we\u0000ird"]: 1 });
    const a = await refusedSigned(inKey, user.id);
    expect(a.res.body.error?.code).toBe("unstorable_payload");
    expect(a.res.body.error?.message).toContain('at ["we\\u0000ird"] (a key)');

    const inId = JSON.stringify({ ...event, id: `${event.id}\u0000` });
    const b = await refusedSigned(inId, user.id);
    expect(b.res.body.error?.message).toBe(
      "The signed event contains \\u0000 (a NUL character) at id; the database cannot store it.",
    );
  });

  it("an unpaired UTF-16 surrogate escape: 400 unstorable_payload", async () => {
    const { user, event } = await paidEvent();
    const payload = JSON.stringify({ ...event, note: "\ud800" });
    expect(payload).toContain("\\ud800");
    const { res } = await refusedSigned(payload, user.id);
    expect(res.body.error).toEqual({
      code: "unstorable_payload",
      message:
        "The signed event contains an unpaired UTF-16 surrogate (\\ud800) at note; the database cannot store it.",
    });
  });

  it("a number beyond a double (1e400): 400 unstorable_payload", async () => {
    const { user, event } = await paidEvent();
    const payload = JSON.stringify(event).replace(/^\{/, '{"amount_hint":1e400,');
    const { res } = await refusedSigned(payload, user.id);
    expect(res.body.error).toEqual({
      code: "unstorable_payload",
      message:
        "The signed event has a number too large to represent at amount_hint (beyond ±1.8e308).",
    });
  });

  it("whatever the checks miss, the database's own refusal is a 400 too (1e-20000)", async () => {
    const { user, event } = await paidEvent();
    // JavaScript reads it as 0; Postgres's numeric has at most 16383 decimal places.
    const payload = JSON.stringify(event).replace(/^\{/, '{"tiny":1e-20000,');
    const { res, delivery } = await refusedSigned(payload, user.id);
    expect(res.body.error?.code).toBe("unstorable_payload");
    expect(res.body.error?.message).toMatch(
      /^The event could not be stored: .*\[SQLSTATE 22\w{3}\]\.$/,
    );
    expect(delivery).toMatchObject({ eventId: null, eventType: "checkout.session.completed" });
  });

  it(`JSON nested deeper than ${MAX_JSON_DEPTH} levels, or too deep to parse at all: 400`, async () => {
    const { user, event } = await paidEvent();
    const nested = (n: number) => "[".repeat(n) + "]".repeat(n);
    const deep = JSON.stringify(event).replace(/^\{/, `{"deep":${nested(MAX_JSON_DEPTH + 5)},`);
    const a = await refusedSigned(deep, user.id);
    expect(a.res.body.error).toEqual({
      code: "malformed_payload",
      message: `The signed event is nested deeper than ${MAX_JSON_DEPTH} levels (at deep${"[0]".repeat(MAX_JSON_DEPTH - 1)}).`,
    });
    // Deep enough that JSON.parse itself may run out of stack (a RangeError, not a SyntaxError);
    // if this machine's stack holds it, the depth check answers instead.
    const abyss = JSON.stringify(event).replace(/^\{/, `{"deep":${nested(500_000)},`);
    expect(Buffer.byteLength(abyss)).toBeLessThan(MAX_WEBHOOK_BODY_BYTES);
    const b = await refusedSigned(abyss, user.id);
    expect(b.res.body.error?.code).toBe("malformed_payload");
    expect(b.res.body.error?.message).toMatch(
      /^The (body has a valid signature but its JSON is nested too deeply to read|signed event is nested deeper than 64 levels .*)\.$/,
    );
  });
});

describe("signed bodies that are not a Stripe event", () => {
  it("JSON the parser ran out of stack on is named as such, not as invalid JSON", () => {
    // What the SDK's JSON.parse throws on nesting deeper than this machine's stack.
    const read = { ok: false as const, error: new RangeError("Maximum call stack size exceeded") };
    expect(checkSignedBody(Buffer.from("[[[[[[[[]]]]]]]]"), read)).toEqual({
      ok: false,
      code: "malformed_payload",
      message: "The body has a valid signature but its JSON is nested too deeply to read.",
    });
  });

  it("invalid UTF-8 bytes: 400 invalid_encoding (the SDK would have read them as U+FFFD)", async () => {
    const { user, event } = await paidEvent();
    const text = JSON.stringify(event);
    const cut = text.indexOf('"object":"event"');
    const body = Buffer.concat([
      Buffer.from(text.slice(0, cut)),
      Buffer.from('"junk":"'),
      Buffer.from([0xff, 0xfe, 0xc3]),
      Buffer.from('",'),
      Buffer.from(text.slice(cut)),
    ]);
    const { res } = await refusedSigned(body, user.id);
    expect(res.body.error).toEqual({
      code: "invalid_encoding",
      message: "The signed body is not valid UTF-8; Stripe sends events as UTF-8 JSON.",
    });
  });

  it("an empty body and a body of only whitespace: 400 malformed_payload saying so", async () => {
    for (const body of ["", "   \r\n\t "]) {
      const { res } = await refusedSigned(body);
      expect(res.body.error).toEqual({
        code: "malformed_payload",
        message: "The body has a valid signature but is empty or only whitespace.",
      });
    }
  });

  it("JSON that is not an object: 400 malformed_payload naming what it is", async () => {
    const cases: Array<[string, string]> = [
      ["[]", "an array"],
      ['"evt_1"', "a string"],
      ["42", "a number"],
      ["true", "a boolean"],
      ["null", "null"],
    ];
    for (const [body, what] of cases) {
      const { res } = await refusedSigned(body);
      expect(res.body.error).toEqual({
        code: "malformed_payload",
        message: `The signed body is JSON ${what}, not a Stripe event (a JSON object with id and type).`,
      });
    }
  });

  it("envelope fields of the wrong type or size: 400 naming the field", async () => {
    const { user, event } = await paidEvent();
    const id = "must be a string of 1 to 255 characters";
    const created = "must be a Unix timestamp: an integer from 0 to 253402300799";
    const cases: Array<[Record<string, unknown>, string, string]> = [
      [{ id: 7 }, "id", id],
      [{ id: "" }, "id", id],
      [{ id: `evt_${"x".repeat(10_000)}` }, "id", id],
      [{ type: ["checkout.session.completed"] }, "type", id],
      [{ created: 1e300 }, "created", created],
      [{ created: -5 }, "created", created],
      [{ created: 1.5 }, "created", created],
      [{ created: "yesterday" }, "created", created],
      [{ livemode: "false" }, "livemode", "must be a boolean"],
      [
        { api_version: { v: 1 } },
        "api_version",
        "must be a string of at most 255 characters, or null",
      ],
      [{ data: "nothing" }, "data", 'must be a JSON object with an "object" member'],
      [{ data: undefined }, "data", 'must be a JSON object with an "object" member'],
      [{ data: { object: [] } }, "data.object", "must be a JSON object (the event's subject)"],
      [{ data: { object: { id: `cs_${"y".repeat(5_000)}` } } }, "data.object.id", id],
    ];
    for (const [patch, field, rule] of cases) {
      const { res } = await refusedSigned(JSON.stringify({ ...event, ...patch }), user.id);
      expect(res.body.error, JSON.stringify(patch).slice(0, 80)).toEqual({
        code: "malformed_payload",
        message: `The signed event's "${field}" is invalid: it ${rule}.`,
      });
    }
  });

  it("the same event sent clean afterwards is stored and credited once", async () => {
    const { user, event } = await paidEvent();
    await refusedSigned(JSON.stringify({ ...event, note: "\u0000" }), user.id);
    const res = await sendRaw(signedRequest(JSON.stringify(event), { secret: mp.ctx.secret }));
    expect(res).toMatchObject({ status: 200, body: { outcome: "accepted", eventId: event.id } });
  });
});

describe("the delivery log itself", () => {
  it("writes its row whatever text it is given (NUL, unpaired surrogates, oversized type)", async () => {
    await recordDelivery({
      signatureStatus: "valid",
      outcome: "malformed",
      eventType: `type\u0000${"t".repeat(1_000)}`,
      responseStatus: 400,
      error: "bad \u0000 and \ud800 here",
      bodySha256: "",
      bodySize: 3,
      remoteIp: "127.0.0.1",
      startedAt: performance.now(),
    });
    const row = await lastDelivery();
    expect(row.error).toBe("bad \\u0000 and \ufffd here");
    expect(row.eventType).toBe(`type\\u0000${"t".repeat(245)}`);
  });
});

describe("unsigned hostile bodies", () => {
  it("are refused on the signature, recorded with their size, and never parsed", async () => {
    const bodies = [
      Buffer.from([0xff, 0x00, 0xfe, 0x00]),
      Buffer.from('{"id":"evt_\\u0000","type":"checkout.session.completed"}'),
      Buffer.from("[".repeat(500_000)),
      Buffer.from("   "),
    ];
    for (const body of bodies) {
      const eventsBefore = await getDb().stripeEvent.count();
      const res = await sendRaw(signedRequest(body, { secret: "whsec_not_the_endpoints" }));
      expect(res.status).toBe(400);
      expect(res.body.error?.code).toBe("invalid_signature");
      expect(await getDb().stripeEvent.count()).toBe(eventsBefore);
      expect(await lastDelivery()).toMatchObject({
        signatureStatus: "invalid",
        outcome: "invalid_signature",
        responseStatus: 400,
        bodySize: body.byteLength,
      });
      const missing = await sendRaw(signedRequest(body, { header: null }));
      expect(missing.status).toBe(400);
      expect((await lastDelivery()).signatureStatus).toBe("missing");
    }
  });
});

describe("oversized bodies over HTTP", () => {
  let server: Server;
  let port: number;
  beforeAll(async () => {
    // The endpoint as server.ts mounts it.
    const app = express();
    app.all("/webhooks/stripe", (req, res) => void stripeWebhookEndpoint(req, res));
    server = await new Promise<Server>((resolve) => {
      const s = app.listen(0, "127.0.0.1", () => resolve(s));
    });
    port = (server.address() as AddressInfo).port;
  });
  afterAll(async () => {
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });

  interface RawExchange {
    response: string;
    /** The server closed its side cleanly (FIN). */
    ended: boolean;
    /** A socket error such as ECONNRESET, if one happened. */
    error: string | null;
  }

  /** Write a request on a raw keep-alive socket and read until the server closes it. */
  function rawExchange(head: string, body: Buffer[]): Promise<RawExchange> {
    return new Promise((resolve) => {
      const socket = net.connect(port, "127.0.0.1");
      let response = "";
      let ended = false;
      let error: string | null = null;
      const giveUp = setTimeout(() => socket.destroy(), 20_000);
      socket.setEncoding("latin1");
      socket.on("data", (c: string) => (response += c));
      socket.on("end", () => (ended = true));
      socket.on("error", (e: NodeJS.ErrnoException) => (error = e.code ?? e.message));
      socket.on("close", () => {
        clearTimeout(giveUp);
        resolve({ response, ended, error });
      });
      socket.on("connect", () => {
        socket.write(head);
        for (const chunk of body) socket.write(chunk);
      });
    });
  }

  function parseResponse(raw: string) {
    const [head, ...rest] = raw.split("\r\n\r\n");
    const lines = head.split("\r\n");
    const headers = Object.fromEntries(
      lines.slice(1).map((l) => {
        const i = l.indexOf(":");
        return [l.slice(0, i).toLowerCase(), l.slice(i + 1).trim()];
      }),
    );
    return { status: Number(lines[0].split(" ")[1]), headers, body: rest.join("\r\n\r\n") };
  }

  const signature = () =>
    Stripe.webhooks.generateTestHeaderString({ payload: "x", secret: mp.ctx.secret });

  it("a chunked 2 MB body: 413 recorded as a delivery, Connection: close, closed cleanly", async () => {
    const before = (await getDb().webhookDelivery.aggregate({ _max: { id: true } }))._max.id ?? 0n;
    const chunk = Buffer.alloc(64 * 1024, 0x61);
    const chunks: Buffer[] = [];
    for (let i = 0; i < 32; i++)
      chunks.push(Buffer.from(`${chunk.length.toString(16)}\r\n`), chunk, Buffer.from("\r\n"));
    chunks.push(Buffer.from("0\r\n\r\n"));
    const exchange = await rawExchange(
      "POST /webhooks/stripe HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: keep-alive\r\n" +
        `Content-Type: application/json\r\nStripe-Signature: ${signature()}\r\n` +
        "Transfer-Encoding: chunked\r\n\r\n",
      chunks,
    );
    expect(exchange.error).toBeNull();
    expect(exchange.ended).toBe(true);
    const res = parseResponse(exchange.response);
    expect(res.status).toBe(413);
    expect(res.headers.connection).toBe("close");
    expect(JSON.parse(res.body)).toEqual({
      error: {
        code: "payload_too_large",
        message: expect.stringMatching(/^Request body is \d+ bytes; the limit is 1048576 bytes/),
      },
    });
    const rows = await getDb().webhookDelivery.findMany({ where: { id: { gt: before } } });
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ outcome: "too_large", responseStatus: 413 });
    expect(rows[0].bodySize).toBeGreaterThan(MAX_WEBHOOK_BODY_BYTES);
  });

  it("past the discard budget (1 MB + 8 MB) a chunked body is cut off: 413 'more than', recorded", async () => {
    const before = (await getDb().webhookDelivery.aggregate({ _max: { id: true } }))._max.id ?? 0n;
    const chunk = Buffer.alloc(256 * 1024, 0x63);
    const chunks: Buffer[] = [];
    for (let i = 0; i < 48; i++)
      chunks.push(Buffer.from(`${chunk.length.toString(16)}\r\n`), chunk, Buffer.from("\r\n"));
    chunks.push(Buffer.from("0\r\n\r\n"));
    // 12 MB: the server stops reading and closes; this client may see a reset while writing.
    await rawExchange(
      "POST /webhooks/stripe HTTP/1.1\r\nHost: 127.0.0.1\r\nTransfer-Encoding: chunked\r\n\r\n",
      chunks,
    );
    const rows = await getDb().webhookDelivery.findMany({ where: { id: { gt: before } } });
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ outcome: "too_large", responseStatus: 413 });
    expect(rows[0].error).toMatch(/^Request body is more than \d+ bytes; the limit is 1048576/);
    expect(rows[0].bodySize).toBeGreaterThan(MAX_WEBHOOK_BODY_BYTES + DISCARD_BYTES);
    expect(rows[0].bodySize).toBeLessThan(12 * 1024 * 1024);
  });

  it("a 2 MB body with Content-Length on a keep-alive socket: 413, Connection: close, no reset", async () => {
    const body = Buffer.alloc(2 * 1024 * 1024, 0x20);
    const exchange = await rawExchange(
      "POST /webhooks/stripe HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: keep-alive\r\n" +
        `Stripe-Signature: ${signature()}\r\nContent-Length: ${body.length}\r\n\r\n`,
      [body],
    );
    expect(exchange.error).toBeNull();
    expect(exchange.ended).toBe(true);
    const res = parseResponse(exchange.response);
    expect(res.status).toBe(413);
    expect(res.headers.connection).toBe("close");
    expect(JSON.parse(res.body)).toMatchObject({ error: { code: "payload_too_large" } });
  });

  it("a keep-alive client's next request after a 413 is answered, not reset", async () => {
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    const post = (body: Buffer | string, headers: Record<string, string>) =>
      new Promise<{ status: number; body: string }>((resolve, reject) => {
        const req = http.request(
          { port, host: "127.0.0.1", path: "/webhooks/stripe", method: "POST", agent, headers },
          (res) => {
            let text = "";
            res.setEncoding("utf8");
            res.on("data", (c: string) => (text += c));
            res.on("end", () => resolve({ status: res.statusCode ?? 0, body: text }));
          },
        );
        req.on("error", reject);
        req.end(body);
      });
    try {
      const { user, event } = await paidEvent();
      const big = await post(Buffer.alloc(2 * 1024 * 1024, 0x20), {
        "Stripe-Signature": signature(),
      });
      expect(big.status).toBe(413);
      const payload = JSON.stringify(event);
      const next = await post(payload, {
        "Content-Type": "application/json",
        "Stripe-Signature": Stripe.webhooks.generateTestHeaderString({
          payload,
          secret: mp.ctx.secret,
        }),
      });
      expect(next.status).toBe(200);
      expect(JSON.parse(next.body)).toMatchObject({ eventId: event.id, outcome: "accepted" });
      expect(await balanceOf(user.id)).toBe(0); // stored; the queue (not running here) credits it
    } finally {
      agent.destroy();
    }
  });

  it("an unsigned chunked body past 1 MB: 413, recorded with the signature missing", async () => {
    const part = Buffer.alloc(256 * 1024, 0x62);
    const chunks: Buffer[] = [];
    for (let i = 0; i < 6; i++)
      chunks.push(Buffer.from(`${part.length.toString(16)}\r\n`), part, Buffer.from("\r\n"));
    chunks.push(Buffer.from("0\r\n\r\n"));
    const exchange = await rawExchange(
      "POST /webhooks/stripe HTTP/1.1\r\nHost: 127.0.0.1\r\n" +
        "Transfer-Encoding: chunked\r\n\r\n",
      chunks,
    );
    expect(exchange.error).toBeNull();
    expect(parseResponse(exchange.response).status).toBe(413);
    expect(await lastDelivery()).toMatchObject({
      signatureStatus: "missing",
      outcome: "too_large",
      responseStatus: 413,
    });
  });
});
