import { Validator } from "@seriousme/openapi-schema-validator";
import { describe, expect, it } from "vitest";
import { z } from "zod";
import {
  checkoutHeadersSchema,
  createCheckoutBodySchema,
} from "../../app/services/api/checkout.server";
import { debitBodySchema } from "../../app/services/api/debits.server";
import { fromZod, openApiDocument } from "../../app/services/api/openapi.server";
import { upsertUserBodySchema } from "../../app/services/api/users.server";

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
    expect(openApiDocument.components.parameters.UserId).toMatchObject({
      name: "id",
      in: "path",
      required: true,
      schema: { type: "string", pattern: "^[A-Za-z0-9_.:@-]{1,128}$" },
    });
  });
});
