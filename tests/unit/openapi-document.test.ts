import { Validator } from "@seriousme/openapi-schema-validator";
import { describe, expect, it } from "vitest";
import { z } from "zod";
import {
  checkoutHeadersSchema,
  createCheckoutBodySchema,
} from "../../app/services/api/checkout.server";
import { debitBodySchema } from "../../app/services/api/debits.server";
import { fromZod } from "../../app/services/api/openapi.server";
import { openApiDocument } from "../../app/services/api/operations.server";
import { upsertUserBodySchema } from "../../app/services/api/users.server";
import { FULFILL_OUTCOMES } from "../../app/services/api/checkout.server";
import { defineOperation, defineWebhook, ok } from "../../app/services/api/contract.server";
import { buildOpenApiDocument } from "../../app/services/api/openapi.server";
import { apiOperations, apiWebhooks } from "../../app/services/api/operations.server";
import { apiLedgerEntrySchema, apiUserSchema, named } from "../../app/services/api/schemas.server";
import { LEDGER_KINDS } from "../../app/services/ledger.server";

const tags = [{ name: "t", description: "Test" }];

/**
 * The Credits API's OpenAPI document is valid OpenAPI 3.1 (checked with a maintained validator of
 * the official schemas), and what it says a client may send is what the routes' zod schemas accept.
 */
describe("the OpenAPI document", () => {
  it("is valid OpenAPI 3.1", async () => {
    const validator = new Validator();
    const result = await validator.validate(JSON.parse(JSON.stringify(openApiDocument)));
    expect(result.errors ?? []).toEqual([]);
    expect(result.valid).toBe(true);
    expect(validator.version).toBe("3.1");
  });

  it("the validator refuses a broken document (so the check above can fail)", async () => {
    const broken = JSON.parse(JSON.stringify(openApiDocument));
    broken.paths["/packs"].get.responses = { "200": { content: {} } }; // no description
    const result = await new Validator().validate(broken);
    expect(result.valid).toBe(false);
  });

  it("request bodies are generated from the zod schemas the routes parse them with", () => {
    const schemas = openApiDocument.components.schemas;
    const bodies = [
      [schemas.DebitRequest, debitBodySchema],
      [schemas.UpsertUserRequest, upsertUserBodySchema],
      [schemas.CreateCheckoutSessionRequest, createCheckoutBodySchema],
    ] as const;
    for (const [documented, schema] of bodies) {
      const json = z.toJSONSchema(schema, { io: "input", target: "draft-2020-12" }) as {
        properties: Record<string, object>;
        required?: string[];
        additionalProperties?: boolean;
      };
      expect(Object.keys(documented.properties ?? {})).toEqual(Object.keys(json.properties));
      expect(documented.required).toEqual(json.required);
      expect(documented.additionalProperties).toBe(false);
      for (const [name, property] of Object.entries(json.properties))
        expect(documented.properties?.[name]).toMatchObject(property);
    }
    // The limits the API enforces are the ones documented, e.g. the debit amount's maximum.
    expect(schemas.DebitRequest.properties?.amount).toMatchObject({ type: "integer", minimum: 1 });
  });

  it("a field added to a zod schema appears in the document, and a wrong override is refused", () => {
    const extended = debitBodySchema.extend({ note: z.string().max(10) });
    expect(fromZod(extended).properties?.note).toEqual({ type: "string", maxLength: 10 });
    expect(() => fromZod(debitBodySchema, { amout: { description: "typo" } })).toThrow(
      "fromZod: the schema has no property amout",
    );
  });

  it("header and path parameters come from the zod schemas too", () => {
    const fulfill = openApiDocument.paths["/checkout-sessions"].post!;
    const header = fulfill.parameters?.find((p) => "name" in p && p.name === "Idempotency-Key");
    expect(header).toMatchObject({
      in: "header",
      schema: fromZod(checkoutHeadersSchema).properties?.["Idempotency-Key"],
    });
    expect(header).not.toHaveProperty("required");
    expect(openApiDocument.paths["/users/{id}"].get!.parameters?.[0]).toMatchObject({
      name: "id",
      in: "path",
      required: true,
      schema: { type: "string", pattern: "^[A-Za-z0-9_.:@-]{1,128}$" },
    });
  });

  it("response schemas are generated from the zod schemas the contract test parses responses with", () => {
    const schemas = openApiDocument.components.schemas;
    expect(schemas.User).toMatchObject({
      type: "object",
      required: ["id", "email", "name", "tier", "balance", "stripeCustomerId"],
      properties: { balance: { type: "integer" }, name: { type: ["string", "null"] } },
    });
    expect(schemas.LedgerPage.properties?.data).toEqual({
      type: "array",
      items: { $ref: "#/components/schemas/LedgerEntry" },
    });
    expect(schemas.LedgerEntry.properties?.kind).toMatchObject({ enum: [...LEDGER_KINDS] });
    expect(schemas.FulfillResult.properties?.outcome).toMatchObject({
      enum: [...FULFILL_OUTCOMES],
    });
    // Open for clients (a later version may add a field); the contract test parses strictly.
    expect(schemas.User).not.toHaveProperty("additionalProperties");
    expect(apiUserSchema.safeParse({ ...sampleUser, extra: 1 }).success).toBe(false);
    const debit = openApiDocument.paths["/users/{id}/debits"].post!;
    expect(debit.responses["201"]).toMatchObject({
      content: { "application/json": { schema: { $ref: "#/components/schemas/DebitResponse" } } },
    });
  });

  it("an operation's shape implies its auth, input and body errors", () => {
    const debit = openApiDocument.paths["/users/{id}/debits"].post!;
    expect(Object.keys(debit.responses).sort()).toEqual(
      ["200", "201", "400", "401", "402", "403", "404", "409", "413", "415", "422", "429"].sort(),
    );
    expect(debit.security).toEqual([{ bearerAuth: ["debits:write"] }]);
    expect(Object.keys(openApiDocument.paths["/packs"].get!.responses).sort()).toEqual([
      "200",
      "401",
      "403",
      "429",
    ]);
    expect(openApiDocument.paths["/openapi.json"].get).toMatchObject({
      security: [],
      responses: { "200": { description: "OpenAPI 3.1 document" } },
    });
  });

  it("adding an operation or a webhook is one declaration, and the result is still valid 3.1", async () => {
    const holdSchema = named("TestHold", z.strictObject({ id: z.string(), credits: z.int() }));
    const hold = defineOperation({
      operationId: "testCreateHold",
      method: "POST",
      path: "/users/{id}/test-holds",
      scope: "debits:write",
      tag: "t",
      summary: "Hold credits",
      params: { schema: z.object({ id: z.string() }) },
      body: { name: "TestHoldRequest", schema: z.strictObject({ credits: z.int().min(1) }) },
      responses: { 201: ok("Held", holdSchema), 404: "NotFound" },
      async run({ body }) {
        return { status: 201, body: { id: "h1", credits: body.credits } };
      },
    });
    const webhook = defineWebhook({
      name: "test.balance_low",
      operationId: "testBalanceLow",
      tag: "t",
      summary: "A balance fell below its threshold",
      payload: named("TestBalanceLow", z.strictObject({ userId: z.string(), balance: z.int() })),
    });
    const doc = buildOpenApiDocument({
      operations: [...apiOperations, hold],
      webhooks: [...apiWebhooks, webhook],
      tags: [...openApiDocument.tags, ...tags],
    });
    expect(Object.keys(doc.paths["/users/{id}/test-holds"].post!.responses).sort()).toEqual(
      ["201", "400", "401", "403", "404", "413", "415", "422", "429"].sort(),
    );
    expect(doc.components.schemas.TestHoldRequest).toMatchObject({
      required: ["credits"],
      additionalProperties: false,
    });
    expect(doc.webhooks?.["test.balance_low"].post?.requestBody).toMatchObject({
      content: { "application/json": { schema: { $ref: "#/components/schemas/TestBalanceLow" } } },
    });
    const result = await new Validator().validate(JSON.parse(JSON.stringify(doc)));
    expect(result.errors ?? []).toEqual([]);
    expect(result.valid).toBe(true);
  });

  it("refuses declarations it cannot describe", () => {
    const unnamed = defineOperation({
      operationId: "testUnnamed",
      method: "GET",
      path: "/x",
      scope: "users:read",
      tag: "t",
      summary: "x",
      responses: { 200: ok("x", z.object({ a: z.string() })) },
      async run() {
        return { status: 200, body: { a: "a" } };
      },
    });
    expect(() => buildOpenApiDocument({ operations: [unnamed], webhooks: [], tags })).toThrow(
      "GET /x 200: the response schema is not registered with named()",
    );
    const twice = [apiOperations[0], { ...apiOperations[0], operationId: "other" }];
    expect(() =>
      buildOpenApiDocument({ operations: twice, webhooks: [], tags: openApiDocument.tags }),
    ).toThrow("GET /users/{id} is declared twice");
    expect(() => named("User", apiLedgerEntrySchema)).toThrow(
      "named: User already names another schema",
    );
  });
});

const sampleUser = {
  id: "u",
  email: "a@b.c",
  name: null,
  tier: "free",
  balance: 1,
  stripeCustomerId: null,
};
