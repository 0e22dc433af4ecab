/**
 * The package schema other languages get, made trustworthy. Pulumi's analyzer
 * (@pulumi/pulumi provider/experimental, 3.212 to 3.259 at least) infers it from the
 * TypeScript types but cannot express three things, so they are added here, after
 * inference, from outside the SDK:
 *
 * - **secrets**: TypeScript has no secret type, so the analyzer never sets `secret`;
 *   properties named in `SECRET_PROPERTIES` get `secret: true` (the SDKs then wrap
 *   inputs in secrets and register the outputs as additional secret outputs);
 * - **integers**: TypeScript has only `number`, so every port came out a float
 *   (`float64` in Go, `double` in C#); properties named in `INTEGER_PROPERTIES`
 *   become `integer`; a `number` property in neither list is reported, so a new
 *   one needs a decision;
 * - **defaults**: the analyzer drops JSDoc tags. A `@default` that is a literal of the
 *   property's type (`22`, `"root"`, `false`, an enum value) becomes the schema's
 *   `default`; every `@default`, literal or prose ("the resource name"), is appended
 *   to the description, as the TypeScript docs show it.
 *
 * Also: types get their interface's description (the analyzer's schema generator
 * drops it), a description the analyzer garbled ("[object Object]", from a comment
 * with `{@link}`) is taken from the source again, and a property without a
 * description is reported.
 *
 * Two Go options work around upstream's Go generator (pkg/v3 3.259), checked by
 * compiling a Go consumer (test/multilang/sdks.test.ts):
 * - `disableObjectDefaults`: it writes `args.Connection = args.Connection.Defaults()` for
 *   a required plain object argument, a pointer into a value field, which does not
 *   compile. The components fill those defaults themselves;
 * - `generateExtraInputTypes`: for a plain array of objects (MainHealthCheck's
 *   `backups`) it refers to `<Type>Args`, which it writes only for types that some
 *   non-plain input uses.
 */
import { type SourceDocs, findMember } from "./docs";

/** Properties that carry key material: `privateKey` (connection and tunnel keys) and `handoff` (holds the tunnel key). */
export const SECRET_PROPERTIES: ReadonlySet<string> = new Set(["privateKey", "handoff"]);

/** `number` properties that are whole numbers: ports, counts, seconds. */
export const INTEGER_PROPERTIES: ReadonlySet<string> = new Set([
    "port",
    "ports",
    "listenPorts",
    "mainPort",
    "mainPublicPort",
    "backupSshPort",
    "remotePort",
    "localPort",
    "dialErrorLimit",
    "perDialTimeout",
    "intervalSeconds",
    "alertAfterSeconds",
    "alertIntervalSeconds",
    // TunnelHandoff's shape version.
    "version",
]);

/** `number` properties that may hold fractions (none yet). */
export const FRACTIONAL_PROPERTIES: ReadonlySet<string> = new Set<string>();

/** A schema property (the parts read or written here). */
interface Property {
    type?: string;
    $ref?: string;
    items?: Property;
    additionalProperties?: Property;
    description?: string;
    secret?: boolean;
    default?: unknown;
    [k: string]: unknown;
}

/** A package schema (the parts read or written here). */
export interface PackageSchema {
    name: string;
    resources?: Record<string, { description?: string; inputProperties?: Record<string, Property>; properties?: Record<string, Property> }>;
    types?: Record<string, { description?: string; type?: string; enum?: { value: unknown }[]; properties?: Record<string, Property> }>;
    [k: string]: unknown;
}

/** The improved schema and what could not be decided (empty when all is well). */
export interface ImprovedSchema {
    readonly schema: PackageSchema;
    readonly problems: readonly string[];
}

/** `Name` of a `pkg:index:Name` token. */
function localName(token: string): string {
    return token.slice(token.lastIndexOf(":") + 1);
}

/** The analyzer's text of a comment with `{@link}` parts. */
function garbled(text: string | undefined): boolean {
    return text !== undefined && text.includes("[object Object]");
}

/** The `@default` text as a value of the property's type, or undefined when it is prose. */
function literalDefault(text: string, prop: Property, spec: PackageSchema): unknown {
    // `"tunnel-<name>"` is a pattern, not a value.
    if (/<[^>]*>/.test(text)) return undefined;
    let value: unknown;
    try {
        value = JSON.parse(text);
    } catch {
        return undefined;
    }
    if (prop.$ref !== undefined) {
        const t = spec.types?.[prop.$ref.replace(/^#\/types\//, "")];
        return t?.enum?.some((e) => e.value === value) ? value : undefined;
    }
    switch (prop.type) {
        case "string":
            return typeof value === "string" ? value : undefined;
        case "boolean":
            return typeof value === "boolean" ? value : undefined;
        case "integer":
            return Number.isInteger(value) ? value : undefined;
        case "number":
            return typeof value === "number" ? value : undefined;
        default:
            return undefined;
    }
}

/** Returns a copy of `inferred` with secrets, integers, defaults and type descriptions added. */
export function improveSchema(inferred: PackageSchema, docs: SourceDocs): ImprovedSchema {
    const spec = JSON.parse(JSON.stringify(inferred)) as PackageSchema;
    const problems: string[] = [];

    const numbers = (prop: Property, name: string, where: string): void => {
        for (const p of [prop, prop.items, prop.additionalProperties]) {
            if (p?.type !== "number") continue;
            if (INTEGER_PROPERTIES.has(name)) p.type = "integer";
            else if (!FRACTIONAL_PROPERTIES.has(name)) problems.push(`${where}: a number; list it in INTEGER_PROPERTIES or FRACTIONAL_PROPERTIES`);
        }
    };

    const improve = (props: Record<string, Property> | undefined, declaration: string | undefined, where: string): void => {
        for (const [name, prop] of Object.entries(props ?? {})) {
            const at = `${where}.${name}`;
            if (SECRET_PROPERTIES.has(name)) prop.secret = true;
            numbers(prop, name, at);
            const doc = declaration !== undefined ? findMember(docs, declaration, name) : undefined;
            if (doc !== undefined && doc.description !== "" && garbled(prop.description)) prop.description = doc.description;
            if (doc?.defaultText !== undefined && doc.defaultText !== "") {
                const value = literalDefault(doc.defaultText, prop, spec);
                if (value !== undefined) prop.default = value;
                prop.description = `${(prop.description ?? doc.description).trim()}\n\nDefault: ${doc.defaultText}`;
            }
            if (typeof prop.description !== "string" || prop.description.trim() === "") problems.push(`${at}: no description`);
        }
    };

    const language = (spec.language ??= {}) as Record<string, Record<string, unknown>>;
    language.go = { ...language.go, disableObjectDefaults: true, generateExtraInputTypes: true };

    for (const [token, r] of Object.entries(spec.resources ?? {})) {
        const cls = docs.get(localName(token)) ?? undefined;
        if (cls && cls.description !== "" && garbled(r.description)) r.description = cls.description;
        improve(r.inputProperties, cls?.argsType, `${token} input`);
        improve(r.properties, localName(token), `${token} output`);
    }
    for (const [token, t] of Object.entries(spec.types ?? {})) {
        const d = docs.get(localName(token));
        if (d && d.description !== "" && ((t.description ?? "") === "" || garbled(t.description))) t.description = d.description;
        improve(t.properties, localName(token), token);
    }
    return { schema: spec, problems };
}
