/**
 * What the schema needs from the TypeScript doc comments and Pulumi's analyzer drops:
 * `@default` tags (the analyzer keeps only the comment text), the descriptions of
 * interfaces and type aliases (its schema generator leaves types undescribed), and
 * comments with `{@link}` (the analyzer joins their parts as "[object Object]").
 *
 * Read syntactically (no type checker: milliseconds, not seconds) from the package's
 * sources, the same files the analyzer reads.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import ts from "typescript";

/** One property's documentation. */
export interface MemberDocs {
    /** The comment text (without tags). */
    readonly description: string;
    /** The `@default` tag's text, as written (`22`, `"root"`, `the resource name`). */
    readonly defaultText?: string;
}

/** An interface's or a class's documentation. */
export interface DeclarationDocs {
    readonly description: string;
    readonly members: ReadonlyMap<string, MemberDocs>;
    /** Names in its `extends` clauses (interfaces: inherited members). */
    readonly bases: readonly string[];
    /** For a class: the type name of its constructor's `args` parameter. */
    readonly argsType?: string;
}

/** Every named declaration of the sources; `null` when a name is declared twice. */
export type SourceDocs = ReadonlyMap<string, DeclarationDocs | null>;

function jsDocsOf(node: ts.Node): readonly ts.JSDoc[] {
    // The parser attaches parsed JSDoc to the node; `ts.getJSDocCommentsAndTags` would
    // also return the parent's for some nodes.
    return ((node as { jsDoc?: ts.JSDoc[] }).jsDoc ?? []).filter(ts.isJSDoc);
}

/** A comment's text, `{@link X}` written as `X` (other languages have no such links). */
function textOf(comment: string | ts.NodeArray<ts.JSDocComment> | undefined): string {
    return (ts.getTextOfJSDocComment(comment) ?? "").replace(/\{@link(?:code|plain)?\s+([^}|\s]+)(?:\s*\|\s*|\s+)?([^}]*)\}/g, (_m, target: string, label: string) => label.trim() || `\`${target}\``);
}

function commentOf(node: ts.Node): string {
    return jsDocsOf(node)
        .map((d) => textOf(d.comment))
        .join("\n")
        .trim();
}

function defaultOf(node: ts.Node): string | undefined {
    for (const d of jsDocsOf(node)) {
        for (const tag of d.tags ?? []) {
            if (tag.tagName.text === "default") return textOf(tag.comment).trim();
        }
    }
    return undefined;
}

function membersOf(elements: readonly (ts.TypeElement | ts.ClassElement)[]): Map<string, MemberDocs> {
    const out = new Map<string, MemberDocs>();
    for (const m of elements) {
        if (!(ts.isPropertySignature(m) || ts.isPropertyDeclaration(m)) || !ts.isIdentifier(m.name)) continue;
        const defaultText = defaultOf(m);
        out.set(m.name.text, { description: commentOf(m), ...(defaultText !== undefined ? { defaultText } : {}) });
    }
    return out;
}

function basesOf(clauses: readonly ts.HeritageClause[] | undefined): string[] {
    return (clauses ?? [])
        .filter((c) => c.token === ts.SyntaxKind.ExtendsKeyword)
        .flatMap((c) => c.types.map((t) => t.expression.getText()));
}

function sourceFiles(dir: string): string[] {
    return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
        const p = path.join(dir, e.name);
        if (e.isDirectory()) return e.name === "node_modules" ? [] : sourceFiles(p);
        return e.name.endsWith(".ts") && !e.name.endsWith(".d.ts") && !e.name.endsWith(".test.ts") ? [p] : [];
    });
}

/** Reads the declarations of every `.ts` file under `dir` (the package's `components/`). */
export function readSourceDocs(dir: string): SourceDocs {
    const out = new Map<string, DeclarationDocs | null>();
    const add = (name: string, d: DeclarationDocs) => out.set(name, out.has(name) ? null : d);
    for (const file of sourceFiles(dir)) {
        const sf = ts.createSourceFile(file, fs.readFileSync(file, "utf8"), ts.ScriptTarget.ES2022, true);
        for (const node of sf.statements) {
            if (ts.isInterfaceDeclaration(node)) {
                add(node.name.text, { description: commentOf(node), members: membersOf(node.members), bases: basesOf(node.heritageClauses) });
            } else if (ts.isTypeAliasDeclaration(node)) {
                add(node.name.text, { description: commentOf(node), members: new Map(), bases: [] });
            } else if (ts.isClassDeclaration(node) && node.name !== undefined) {
                const ctor = node.members.find(ts.isConstructorDeclaration);
                const argsType = ctor?.parameters[1]?.type;
                add(node.name.text, {
                    description: commentOf(node),
                    members: membersOf(node.members),
                    bases: [],
                    ...(argsType !== undefined && ts.isTypeReferenceNode(argsType) ? { argsType: argsType.typeName.getText() } : {}),
                });
            }
        }
    }
    return out;
}

/** A member of `declaration` or of the interfaces it extends (own members first). */
export function findMember(docs: SourceDocs, declaration: string, member: string, seen = new Set<string>()): MemberDocs | undefined {
    const d = docs.get(declaration);
    if (d === undefined || d === null || seen.has(declaration)) return undefined;
    seen.add(declaration);
    return d.members.get(member) ?? d.bases.map((b) => findMember(docs, b, member, seen)).find((m) => m !== undefined);
}
