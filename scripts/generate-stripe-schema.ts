/**
 * Reads the object types the installed `stripe` SDK declares (node_modules/stripe/esm/resources,
 * its pinned API version) and writes emulator/schema/stripe-objects.json: for every object the
 * emulator serves, and every nested type they contain, each field in declaration order with
 * whether it may be absent (`?`) or null (`| null`) and its type. The emulator builds its objects
 * from it (emulator/schema/shape.ts: a non-optional nullable field the builder leaves out is
 * `null`, never absent) and the conformance test checks every response against it.
 *
 *   npm run emulator:schema            (after upgrading stripe; commit the result)
 *   npm run emulator:schema -- --check (exit 1 when the committed file is out of date)
 */
import { readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import * as prettier from "prettier";
import ts from "typescript";
import type { FieldDesc, StripeSchema, TypeDef, TypeDesc } from "../emulator/schema/shape";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const sdkDir = path.join(root, "node_modules/stripe/esm");
const resourcesDir = path.join(sdkDir, "resources");
export const SCHEMA_PATH = path.join(root, "emulator/schema/stripe-objects.json");

/** The resources the emulator serves; other resources are named by reference only. */
const ROOTS = [
  "BalanceTransaction",
  "Charge",
  "Checkout.Session",
  "Customer",
  "DeletedCustomer",
  "DeletedProduct",
  "DeletedWebhookEndpoint",
  "Dispute",
  "EventBase",
  "Invoice",
  "InvoiceLineItem",
  "LineItem",
  "PaymentIntent",
  "Plan",
  "Price",
  "Product",
  "Refund",
  "Subscription",
  "SubscriptionItem",
  "WebhookEndpoint",
];

function qualifiedName(decl: ts.Declaration): string {
  const parts: string[] = [];
  const name = (decl as ts.InterfaceDeclaration).name;
  if (name) parts.unshift(name.text);
  let node: ts.Node | undefined = decl.parent;
  while (node) {
    if (ts.isModuleDeclaration(node) && ts.isIdentifier(node.name)) parts.unshift(node.name.text);
    node = node.parent;
  }
  const file = decl.getSourceFile().fileName;
  const rel = path.relative(resourcesDir, path.dirname(file));
  if (!rel.startsWith("..") && rel !== "") parts.unshift(...rel.split(path.sep));
  return parts.join(".");
}

function isTopLevel(decl: ts.Declaration): boolean {
  return ts.isSourceFile(decl.parent);
}

export function buildSchema(): StripeSchema {
  const entry = path.join(sdkDir, "stripe.esm.node.d.ts");
  const program = ts.createProgram([entry], {
    strict: true,
    noEmit: true,
    skipLibCheck: true,
    target: ts.ScriptTarget.ES2022,
    module: ts.ModuleKind.ESNext,
    moduleResolution: ts.ModuleResolutionKind.Bundler,
  });
  const checker = program.getTypeChecker();

  // Every interface of resources/ and shared.d.ts (Address, …), by qualified name.
  const interfaces = new Map<string, ts.InterfaceDeclaration>();
  const aliases = new Map<string, ts.TypeAliasDeclaration>();
  const sdkFile = (fileName: string) =>
    fileName.startsWith(resourcesDir) || fileName === path.join(sdkDir, "shared.d.ts");
  for (const file of program.getSourceFiles()) {
    if (!sdkFile(file.fileName)) continue;
    const visit = (node: ts.Node) => {
      if (ts.isInterfaceDeclaration(node)) interfaces.set(qualifiedName(node), node);
      if (ts.isTypeAliasDeclaration(node)) aliases.set(qualifiedName(node), node);
      node.forEachChild(visit);
    };
    visit(file);
  }

  const objectLiteralOf = (decl: ts.InterfaceDeclaration): string | undefined => {
    for (const member of decl.members) {
      if (!ts.isPropertySignature(member) || member.name.getText() !== "object") continue;
      const t = member.type;
      if (t && ts.isLiteralTypeNode(t) && ts.isStringLiteral(t.literal)) return t.literal.text;
    }
    return undefined;
  };

  const types: Record<string, TypeDef> = {};
  const queue: string[] = [...ROOTS];
  const rootSet = new Set(ROOTS);
  const seen = new Set<string>(ROOTS);

  const refTo = (decl: ts.InterfaceDeclaration): TypeDesc => {
    const name = qualifiedName(decl);
    // Other resources (Account, Application, …) are only ever ids here: named, not described.
    if (isTopLevel(decl) && objectLiteralOf(decl) && !rootSet.has(name)) return { ref: name };
    if (!seen.has(name)) {
      seen.add(name);
      queue.push(name);
    }
    return { ref: name };
  };

  const describe = (type: ts.Type): { desc: TypeDesc; nullable: boolean } => {
    let nullable = false;
    const members = type.isUnion() ? type.types : [type];
    const descs: TypeDesc[] = [];
    const literals: string[] = [];
    let open = false;
    let sawTrue = false;
    let sawFalse = false;
    for (const t of members) {
      if (t.flags & ts.TypeFlags.Null) nullable = true;
      else if (t.flags & (ts.TypeFlags.Undefined | ts.TypeFlags.Void)) continue;
      else if (t.flags & ts.TypeFlags.StringLiteral)
        literals.push((t as ts.StringLiteralType).value);
      else if (t.flags & ts.TypeFlags.BooleanLiteral) {
        if (checker.typeToString(t) === "true") sawTrue = true;
        else sawFalse = true;
      } else {
        const d = describeOne(t);
        if (d === "string" && t.isIntersection())
          open = true; // OtherString
        else descs.push(d);
      }
    }
    if (sawTrue && sawFalse) descs.push("boolean");
    else if (sawTrue) descs.push({ literal: true });
    else if (sawFalse) descs.push({ literal: false });
    if (literals.length > 1 || (literals.length === 1 && open)) {
      descs.unshift(open ? { enum: literals, open: true } : { enum: literals });
    } else if (literals.length === 1) descs.unshift({ literal: literals[0] });
    else if (open) descs.push("string");
    if (descs.length === 0) return { desc: "any", nullable };
    return { desc: descs.length === 1 ? descs[0] : { anyOf: descs }, nullable };
  };

  const describeOne = (t: ts.Type): TypeDesc => {
    if (t.flags & ts.TypeFlags.String) return "string";
    if (t.flags & ts.TypeFlags.Number) return "number";
    if (t.flags & ts.TypeFlags.Boolean) return "boolean";
    if (t.flags & (ts.TypeFlags.Any | ts.TypeFlags.Unknown)) return "any";
    if (t.flags & ts.TypeFlags.NumberLiteral) return { literal: (t as ts.NumberLiteralType).value };
    if (t.isIntersection()) {
      // `string & Record<never, never>` (OtherString).
      if (t.types.some((x) => x.flags & ts.TypeFlags.String)) return "string";
    }
    if (checker.isArrayType(t) || checker.isTupleType(t)) {
      const [elem] = checker.getTypeArguments(t as ts.TypeReference);
      const inner = describe(elem);
      return { array: inner.nullable ? { anyOf: [inner.desc, { literal: "null" }] } : inner.desc };
    }
    const symbol = t.aliasSymbol ?? t.getSymbol();
    const name = symbol?.getName();
    if (name === "Decimal" || name === "DecimalImpl") return "decimal";
    if (name === "ApiList") {
      const [elem] = checker.getTypeArguments(t as ts.TypeReference);
      return { list: describe(elem).desc };
    }
    if (t.flags & ts.TypeFlags.Object) {
      const props = checker.getPropertiesOfType(t);
      const index = checker.getIndexInfosOfType(t);
      if (props.length === 0 && index.length > 0) return { map: describe(index[0].type).desc };
      if (props.length === 0) return "any";
    }
    const decl = symbol?.declarations?.find(ts.isInterfaceDeclaration);
    if (decl && sdkFile(decl.getSourceFile().fileName)) return refTo(decl);
    throw new Error(`Cannot describe type ${checker.typeToString(t)}`);
  };

  while (queue.length > 0) {
    const name = queue.shift() as string;
    const decl = interfaces.get(name);
    if (!decl) throw new Error(`No interface ${name} in the stripe SDK's resources`);
    const type = checker.getDeclaredTypeOfSymbol(checker.getSymbolAtLocation(decl.name)!);
    const fields: Record<string, FieldDesc> = {};
    for (const prop of checker.getPropertiesOfType(type)) {
      const { desc, nullable } = describe(checker.getTypeOfSymbol(prop));
      const field: FieldDesc = { type: desc };
      if (prop.flags & ts.SymbolFlags.Optional) field.optional = true;
      if (nullable) field.nullable = true;
      fields[prop.getName()] = field;
    }
    const object = isTopLevel(decl) ? objectLiteralOf(decl) : undefined;
    types[name] = object ? { object, fields } : { fields };
  }

  const objects: StripeSchema["objects"] = {};
  for (const [name, def] of Object.entries(types)) {
    if (!def.object) continue;
    const entry = (objects[def.object] ??= {});
    const deleted = def.fields.deleted?.type;
    if (typeof deleted === "object" && "literal" in deleted) {
      entry.deleted = name;
    } else entry.type = name;
  }

  const enumOf = (alias: string): string[] => {
    const decl = aliases.get(alias);
    if (!decl) throw new Error(`No type ${alias} in the stripe SDK's resources`);
    const t = checker.getTypeFromTypeNode(decl.type);
    return (t.isUnion() ? t.types : [t])
      .filter((x) => x.flags & ts.TypeFlags.StringLiteral)
      .map((x) => (x as ts.StringLiteralType).value);
  };

  const version = /ApiVersion = "([^"]+)"/.exec(
    readFileSync(path.join(sdkDir, "apiVersion.d.ts"), "utf8"),
  );
  const pkg = JSON.parse(readFileSync(path.join(sdkDir, "../package.json"), "utf8")) as {
    version: string;
  };
  return {
    apiVersion: version?.[1] ?? "unknown",
    sdkVersion: pkg.version,
    objects: Object.fromEntries(Object.entries(objects).sort(([a], [b]) => a.localeCompare(b))),
    types: Object.fromEntries(Object.entries(types).sort(([a], [b]) => a.localeCompare(b))),
    webhookEventNames: enumOf("WebhookEndpointCreateParams.EnabledEvent"),
    checkoutUiModes: enumOf("Checkout.Session.UiMode"),
  };
}

/** One field per line, so the file stays reviewable in diffs; then prettier's own formatting. */
export async function renderSchema(schema: StripeSchema = buildSchema()): Promise<string> {
  const options = (await prettier.resolveConfig(SCHEMA_PATH)) ?? {};
  return prettier.format(layout(schema), { ...options, parser: "json" });
}

function layout(schema: StripeSchema): string {
  const lines: string[] = ["{"];
  lines.push(`  "apiVersion": ${JSON.stringify(schema.apiVersion)},`);
  lines.push(`  "sdkVersion": ${JSON.stringify(schema.sdkVersion)},`);
  lines.push(`  "objects": {`);
  const objects = Object.entries(schema.objects);
  objects.forEach(([k, v], i) => {
    lines.push(`    ${JSON.stringify(k)}: ${inline(v)}${i < objects.length - 1 ? "," : ""}`);
  });
  lines.push("  },");
  lines.push(`  "types": {`);
  const types = Object.entries(schema.types);
  types.forEach(([name, def], i) => {
    lines.push(`    ${JSON.stringify(name)}: {`);
    if (def.object) lines.push(`      "object": ${JSON.stringify(def.object)},`);
    lines.push(`      "fields": {`);
    const fields = Object.entries(def.fields);
    fields.forEach(([f, d], j) => {
      lines.push(`        ${JSON.stringify(f)}: ${inline(d)}${j < fields.length - 1 ? "," : ""}`);
    });
    lines.push("      }");
    lines.push(`    }${i < types.length - 1 ? "," : ""}`);
  });
  lines.push("  },");
  lines.push(`  "webhookEventNames": ${JSON.stringify(schema.webhookEventNames)},`);
  lines.push(`  "checkoutUiModes": ${JSON.stringify(schema.checkoutUiModes)}`);
  lines.push("}");
  return `${lines.join("\n")}\n`;
}

function inline(value: unknown): string {
  return JSON.stringify(value);
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const text = await renderSchema();
  if (process.argv.includes("--check")) {
    const current = readFileSync(SCHEMA_PATH, "utf8");
    if (current !== text) {
      console.error(
        `${path.relative(root, SCHEMA_PATH)} is out of date with the installed stripe SDK: run npm run emulator:schema`,
      );
      process.exit(1);
    }
    console.log(`${path.relative(root, SCHEMA_PATH)} matches the installed stripe SDK`);
  } else {
    writeFileSync(SCHEMA_PATH, text);
    console.log(`wrote ${path.relative(root, SCHEMA_PATH)}`);
  }
}
