import { z } from "zod";
import { API_SCOPE_DESCRIPTIONS, API_SCOPES, DEFAULT_RATE_LIMIT } from "../api-keys.server";
import {
  responsesOf,
  SHARED_RESPONSES,
  type AnyOperation,
  type ParamDoc,
  type ResponseSpec,
  type SchemaOverlay,
  type WebhookSpec,
} from "./contract.server";
import { MAX_BODY_BYTES } from "./http.server";
import { apiSchemaNames } from "./schemas.server";

/**
 * The OpenAPI 3.1 document of the Credits API, generated — nothing in it is written by hand but
 * the prose. `buildOpenApiDocument` reads the operation declarations (operations.server.ts):
 * parameters and request bodies from the zod schemas the router parses them with (zod's input
 * side), responses from the zod schemas the handlers' replies are typed by and the contract test
 * parses them with (the output side, schemas.server.ts), security from each operation's scope,
 * and the statuses its shape implies from contract.server.ts. Served at GET /api/v1/openapi.json;
 * tests/unit/openapi-document.test.ts validates it as OpenAPI 3.1.
 */

export interface Ref {
  $ref: string;
}

export type JsonType = "object" | "string" | "integer" | "number" | "boolean" | "array" | "null";

export interface SchemaObject {
  type?: JsonType | JsonType[];
  oneOf?: (SchemaObject | Ref)[];
  anyOf?: (SchemaObject | Ref)[];
  description?: string;
  properties?: Record<string, SchemaObject | Ref>;
  required?: string[];
  additionalProperties?: boolean;
  items?: SchemaObject | Ref;
  enum?: (string | null)[];
  $ref?: string;
  format?: string;
  pattern?: string;
  minimum?: number;
  maximum?: number;
  minLength?: number;
  maxLength?: number;
  default?: unknown;
  examples?: unknown[];
}

export interface ParameterObject {
  name: string;
  in: "path" | "query" | "header";
  required?: boolean;
  description?: string;
  schema: SchemaObject;
}

interface MediaType {
  schema: SchemaObject | Ref;
  example?: unknown;
}

export interface ResponseObject {
  description: string;
  headers?: Record<string, { description: string; schema: SchemaObject }>;
  content?: { "application/json": MediaType };
}

export interface OperationObject {
  operationId: string;
  summary: string;
  description?: string;
  tags: string[];
  security?: Record<string, string[]>[];
  parameters?: (ParameterObject | Ref)[];
  requestBody?: { required: boolean; content: { "application/json": MediaType } };
  responses: Record<string, ResponseObject | Ref>;
}

/** A method as the document spells it (lower case). */
export type DocMethod = "get" | "put" | "post" | "delete" | "patch";
export type PathItem = Partial<Record<DocMethod, OperationObject>>;

export interface OpenApiDocument {
  openapi: "3.1.0";
  info: { title: string; version: string; description: string };
  servers: { url: string; description: string }[];
  security: Record<string, string[]>[];
  tags: { name: string; description: string }[];
  paths: Record<string, PathItem>;
  webhooks?: Record<string, PathItem>;
  components: {
    securitySchemes: Record<
      string,
      { type: "http"; scheme: "bearer"; bearerFormat: string; description: string }
    >;
    schemas: Record<string, SchemaObject>;
    responses: Record<string, ResponseObject>;
  };
}

const ref = (kind: "schemas" | "responses", name: string): Ref => ({
  $ref: `#/components/${kind}/${name}`,
});
const SCHEMA_URI = (id: string) => `#/components/schemas/${id}`;

/** Drop what JSON Schema output says about every integer and timestamp alike: noise to a reader. */
function tidy(ctx: { jsonSchema: Record<string, unknown> }) {
  const json = ctx.jsonSchema;
  if (json.minimum === Number.MIN_SAFE_INTEGER) delete json.minimum;
  if (json.maximum === Number.MAX_SAFE_INTEGER) delete json.maximum;
}

/**
 * Responses are parsed strictly by the contract test (a field the schema does not name fails it),
 * but the document leaves them open: a client must accept a field added in a later version.
 */
function tidyResponse(ctx: { jsonSchema: Record<string, unknown> }) {
  tidy(ctx);
  if (ctx.jsonSchema.additionalProperties === false) delete ctx.jsonSchema.additionalProperties;
}

function stripMeta(json: Record<string, unknown>): SchemaObject {
  delete json.$schema;
  delete json.$id;
  return json as SchemaObject;
}

/**
 * The JSON Schema (2020-12, OpenAPI 3.1's dialect) of what a zod schema accepts as input, with
 * extra keywords (descriptions, formats, examples) laid over named properties.
 */
export function fromZod(schema: z.ZodType, over: Record<string, SchemaOverlay> = {}): SchemaObject {
  const json = stripMeta(
    z.toJSONSchema(schema, { io: "input", target: "draft-2020-12", override: tidy }) as Record<
      string,
      unknown
    >,
  );
  for (const [name, extra] of Object.entries(over)) {
    const property = json.properties?.[name];
    if (!property) throw new Error(`fromZod: the schema has no property ${name}`);
    json.properties![name] = { ...property, ...extra } as SchemaObject;
  }
  return json;
}

/** Every registered response schema (schemas.server.ts), output side, referring to each other by name. */
function responseComponents(): Record<string, SchemaObject> {
  const { schemas } = z.toJSONSchema(apiSchemaNames, {
    io: "output",
    target: "draft-2020-12",
    uri: SCHEMA_URI,
    override: tidyResponse,
  }) as { schemas: Record<string, Record<string, unknown>> };
  return Object.fromEntries(Object.entries(schemas).map(([id, s]) => [id, stripMeta(s)]));
}

/** A response's body schema by reference: it must be a named component. */
function schemaRef(schema: z.ZodType, where: string): Ref {
  const meta = apiSchemaNames.get(schema);
  if (!meta) throw new Error(`${where}: the response schema is not registered with named()`);
  return ref("schemas", meta.id);
}

function parameters(
  where: "path" | "query" | "header",
  decl: { schema: z.ZodType | undefined; docs?: Record<string, ParamDoc> } | undefined,
): ParameterObject[] {
  if (!decl?.schema) return [];
  const json = fromZod(decl.schema);
  const docs = decl.docs ?? {};
  for (const name of Object.keys(docs))
    if (!json.properties?.[name]) throw new Error(`parameter docs: no ${where} parameter ${name}`);
  return Object.entries(json.properties ?? {}).map(([name, property]) => ({
    name,
    in: where,
    ...(where === "path" || json.required?.includes(name) ? { required: true } : {}),
    ...(docs[name]?.description ? { description: docs[name].description } : {}),
    schema: (docs[name]?.schema ?? property) as SchemaObject,
  }));
}

const media = (schema: SchemaObject | Ref, example?: unknown) => ({
  "application/json": example === undefined ? { schema } : { schema, example },
});

function responseObject(spec: ResponseSpec, where: string): ResponseObject {
  return {
    description: spec.description,
    ...(spec.headers ? { headers: spec.headers as ResponseObject["headers"] } : {}),
    ...(spec.schema ? { content: media(schemaRef(spec.schema, where), spec.example) } : {}),
  };
}

function operationObject(op: AnyOperation, bodies: Record<string, SchemaObject>): OperationObject {
  const where = `${op.method} ${op.path}`;
  const responses: Record<string, ResponseObject | Ref> = {};
  for (const [status, response] of Object.entries(responsesOf(op))) {
    responses[status] =
      typeof response === "string"
        ? ref("responses", response)
        : responseObject(response, `${where} ${status}`);
  }
  const params = [
    ...parameters("path", op.params),
    ...parameters("query", op.query),
    ...parameters("header", op.headers),
  ];
  if (op.body) {
    if (bodies[op.body.name]) throw new Error(`${where}: body name ${op.body.name} is taken`);
    bodies[op.body.name] = fromZod(op.body.schema!, op.body.overlay);
  }
  return {
    operationId: op.operationId,
    summary: op.summary,
    ...(op.description ? { description: op.description } : {}),
    tags: [op.tag],
    // OpenAPI 3.1 lets a bearer scheme's requirement list role names: here, the key's scope.
    security: op.scope === null ? [] : [{ bearerAuth: [op.scope] }],
    ...(params.length > 0 ? { parameters: params } : {}),
    ...(op.body
      ? {
          requestBody: {
            required: true,
            content: media(ref("schemas", op.body.name), op.body.example),
          },
        }
      : {}),
    responses,
  };
}

function webhookObject(hook: WebhookSpec): OperationObject {
  return {
    operationId: hook.operationId,
    summary: hook.summary,
    ...(hook.description ? { description: hook.description } : {}),
    tags: [hook.tag],
    requestBody: {
      required: true,
      content: media(schemaRef(hook.payload, `webhook ${hook.name}`), hook.example),
    },
    responses: hook.responses ?? { "2XX": { description: "Any 2xx acknowledges the delivery" } },
  };
}

export interface ApiDescription {
  operations: readonly AnyOperation[];
  webhooks: readonly WebhookSpec[];
  tags: { name: string; description: string }[];
}

/** The whole document from the declarations. Throws on a declaration it cannot describe. */
export function buildOpenApiDocument(api: ApiDescription): OpenApiDocument {
  const paths: Record<string, PathItem> = {};
  const bodies: Record<string, SchemaObject> = {};
  const ids = new Set<string>();
  for (const op of api.operations) {
    if (ids.has(op.operationId)) throw new Error(`operationId ${op.operationId} is used twice`);
    ids.add(op.operationId);
    if (!api.tags.some((t) => t.name === op.tag)) throw new Error(`${op.operationId}: unknown tag`);
    const method = op.method.toLowerCase() as DocMethod;
    const item = (paths[op.path] ??= {});
    if (item[method]) throw new Error(`${op.method} ${op.path} is declared twice`);
    item[method] = operationObject(op, bodies);
  }
  const webhooks: Record<string, PathItem> = {};
  for (const hook of api.webhooks) webhooks[hook.name] = { post: webhookObject(hook) };
  const components = responseComponents();
  for (const name of Object.keys(bodies)) {
    if (components[name]) throw new Error(`schema name ${name} is both a body and a response`);
  }
  return {
    openapi: "3.1.0",
    info: {
      title: "creditdesk Credits API",
      version: "1.0.0",
      description:
        "Lets the product's main app upsert users, read balances and ledgers, spend credits idempotently, list credit packs, " +
        "and open Stripe Checkout Sessions that creditdesk can always attribute. Every request needs " +
        "`Authorization: Bearer <API key>` (create keys with `npm run cli -- apikey create --name NAME --scope …`). " +
        "Each operation needs one scope, listed in its `security`; a key without it gets 403 `insufficient_scope`. " +
        `Each key has a token-bucket rate limit (default ${DEFAULT_RATE_LIMIT.perSecond} requests/s, bursts of ` +
        `${DEFAULT_RATE_LIMIT.burst}; counted per server process); every answer to a known key carries ` +
        "`RateLimit-Limit`, `RateLimit-Remaining` and `RateLimit-Reset`, and 429 adds `Retry-After`. " +
        "Errors are JSON `{ error: { code, message, field? } }`. A method a path does not support gets 405 with `Allow`; " +
        `an unknown path under /api/v1 gets 404 \`route_not_found\`; request bodies over ${MAX_BODY_BYTES / 1024} KB get 413 ` +
        "(with `Connection: close`), bodies that are not `application/json` 415.",
    },
    servers: [{ url: "/api/v1", description: "This creditdesk server" }],
    security: [{ bearerAuth: [] }],
    tags: api.tags,
    paths,
    ...(api.webhooks.length > 0 ? { webhooks } : {}),
    components: {
      securitySchemes: {
        bearerAuth: {
          type: "http",
          scheme: "bearer",
          bearerFormat: "cdk_ followed by 43 base62 characters",
          description:
            "An API key from `npm run cli -- apikey create` or the dashboard's API keys page. Expired keys get 401 " +
            "`api_key_expired`, revoked keys 403 `api_key_revoked`. A key holds the scopes chosen when it was " +
            "created; each operation's `security` names the one it needs. Scopes: " +
            API_SCOPES.map((s) => `\`${s}\` (${API_SCOPE_DESCRIPTIONS[s]})`).join(", ") +
            ".",
        },
      },
      schemas: { ...components, ...bodies },
      responses: Object.fromEntries(
        Object.entries(SHARED_RESPONSES).map(([name, spec]) => [
          name,
          responseObject(spec, `components.responses.${name}`),
        ]),
      ),
    },
  };
}
