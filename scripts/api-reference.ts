/**
 * Writes docs/api.md, the reference of the package root's exports: every component's
 * args and outputs, the types the args refer to, and the other exports (constants,
 * helpers, the error class), from their doc comments (what the .d.ts files ship). `--check` compares instead of writing and exits 1 on drift, so the
 * reference cannot fall behind the code (test/package/api-reference.test.ts).
 */
import * as fs from "node:fs";
import * as path from "node:path";
import ts from "typescript";

const ROOT = path.resolve(__dirname, "..");
const OUT = path.join(ROOT, "docs", "api.md");

/** One row of a table: a property, its type, default and description. */
interface Row {
    name: string;
    type: string;
    optional: boolean;
    defaultValue: string | undefined;
    doc: string;
}

function docOf(checker: ts.TypeChecker, sym: ts.Symbol): { doc: string; defaultValue: string | undefined } {
    const doc = ts.displayPartsToString(sym.getDocumentationComment(checker)).replace(/\s*\n\s*/g, " ").trim();
    const tag = sym.getJsDocTags(checker).find((t) => t.name === "default");
    const defaultValue = tag?.text !== undefined ? ts.displayPartsToString(tag.text).trim() : undefined;
    return { doc, defaultValue };
}

function rows(checker: ts.TypeChecker, type: ts.Type, at: ts.Node, filter: (s: ts.Symbol) => boolean = () => true): Row[] {
    return checker
        .getPropertiesOfType(type)
        .filter(filter)
        .map((sym) => {
            const t = checker.getTypeOfSymbolAtLocation(sym, at);
            const { doc, defaultValue } = docOf(checker, sym);
            // The type as written (e.g. `Output<number>`), else as the checker prints it.
            const decl = sym.valueDeclaration;
            const written = decl !== undefined && (ts.isPropertySignature(decl) || ts.isPropertyDeclaration(decl)) ? decl.type?.getText() : undefined;
            return {
                name: sym.getName(),
                type:
                    written?.replace(/\bpulumi\./g, "").replace(/\s+/g, " ") ??
                    checker.typeToString(checker.getNonNullableType(t), undefined, ts.TypeFormatFlags.NoTruncation | ts.TypeFormatFlags.UseAliasDefinedOutsideCurrentScope),
                optional: (sym.getFlags() & ts.SymbolFlags.Optional) !== 0,
                defaultValue,
                doc,
            };
        });
}

const cell = (s: string) => s.replace(/\|/g, "\\|").replace(/\{@link ([^}]+)\}/g, "`$1`");

function table(title: string, list: Row[], withDefault: boolean): string {
    const head = withDefault ? "| name | type | default | description |\n| --- | --- | --- | --- |" : "| name | type | description |\n| --- | --- | --- |";
    const body = list.map((r) =>
        withDefault
            ? `| \`${r.name}\`${r.optional ? "" : " (required)"} | \`${cell(r.type)}\` | ${r.defaultValue !== undefined ? `\`${cell(r.defaultValue)}\`` : ""} | ${cell(r.doc)} |`
            : `| \`${r.name}\` | \`${cell(r.type)}\` | ${cell(r.doc)} |`,
    );
    return `${title}\n\n${head}\n${body.join("\n")}\n`;
}

/** The markdown reference, generated from the package entry's exports. */
export function generate(): string {
    const entry = path.join(ROOT, "components", "index.ts");
    const program = ts.createProgram([entry], { strict: true, esModuleInterop: true, target: ts.ScriptTarget.ES2022, module: ts.ModuleKind.CommonJS, skipLibCheck: true });
    const checker = program.getTypeChecker();
    const mod = checker.getSymbolAtLocation(program.getSourceFile(entry)!)!;
    const sections: string[] = [];
    const argTypeNames = new Set<string>();
    const exports = checker.getExportsOfModule(mod).sort((a, b) => a.getName().localeCompare(b.getName()));
    for (const exp of exports) {
        const sym = exp.flags & ts.SymbolFlags.Alias ? checker.getAliasedSymbol(exp) : exp;
        const decl = sym.declarations?.find(ts.isClassDeclaration);
        if (decl === undefined) continue;
        const classType = checker.getDeclaredTypeOfSymbol(sym) as ts.InterfaceType;
        const isComponent = checker.getBaseTypes(classType).some((b) => b.symbol?.getName() === "ComponentResource");
        if (!isComponent) continue;
        const ctor = decl.members.find(ts.isConstructorDeclaration);
        const argsParam = ctor?.parameters.find((p) => p.name.getText() === "args");
        if (argsParam === undefined) continue;
        const argsType = checker.getNonNullableType(checker.getTypeAtLocation(argsParam));
        const own = new Set(decl.members.filter(ts.isPropertyDeclaration).map((m) => m.name.getText()));
        const { doc } = docOf(checker, sym);
        const argRows = rows(checker, argsType, argsParam);
        for (const r of argRows) for (const word of r.type.match(/[A-Z][A-Za-z]+/g) ?? []) argTypeNames.add(word);
        sections.push(
            [
                `## ${sym.getName()}`,
                "",
                cell(doc),
                "",
                table(`Args (\`${checker.typeToString(argsType)}\`):`, argRows, true),
                table("Outputs:", rows(checker, classType, decl, (s) => own.has(s.getName())), false),
            ].join("\n"),
        );
    }
    // The interfaces the args refer to (connections, forwards), in the same form, and
    // the interfaces those refer to in turn (a connection's jump host).
    const shared = new Map<string, string>();
    for (let grew = true; grew; ) {
        grew = false;
        for (const exp of exports) {
            if (!argTypeNames.has(exp.getName()) || shared.has(exp.getName())) continue;
            const sym = exp.flags & ts.SymbolFlags.Alias ? checker.getAliasedSymbol(exp) : exp;
            const decl = sym.declarations?.find(ts.isInterfaceDeclaration);
            if (decl === undefined) continue;
            const fields = rows(checker, checker.getDeclaredTypeOfSymbol(sym), decl);
            for (const r of fields) for (const word of r.type.match(/[A-Z][A-Za-z]+/g) ?? []) argTypeNames.add(word);
            shared.set(exp.getName(), [`### ${sym.getName()}`, "", cell(docOf(checker, sym).doc), "", table("Fields:", fields, true)].join("\n"));
            grew = true;
        }
    }
    sections.push(["## Types used by the args", "", ...[...shared.keys()].sort().map((k) => shared.get(k)!)].join("\n"));
    // Everything else the root exports (constants the args take, helpers, the error
    // class), so this page covers the whole public API.
    const documented = new Set([...shared.keys(), ...sections.map((t) => /^## (\S+)/.exec(t)?.[1] ?? "")]);
    const others: string[] = [];
    for (const exp of exports) {
        const name = exp.getName();
        const sym = exp.flags & ts.SymbolFlags.Alias ? checker.getAliasedSymbol(exp) : exp;
        if (documented.has(name) || /Args$/.test(name) || !(sym.flags & ts.SymbolFlags.Value)) continue;
        const decl = sym.valueDeclaration!;
        const type = checker.getTypeOfSymbolAtLocation(sym, decl);
        const sig = type.getCallSignatures()[0];
        const shape =
            sym.flags & ts.SymbolFlags.Class
                ? `class ${name}`
                : sig !== undefined
                  ? `${name}${checker.signatureToString(sig, undefined, ts.TypeFormatFlags.NoTruncation)}`
                  : `${name}: ${checker.typeToString(type, undefined, ts.TypeFormatFlags.NoTruncation)}`;
        // The value's own comment: a constant and a type of one name would merge both comments.
        const doc = ts
            .getJSDocCommentsAndTags(decl)
            .filter(ts.isJSDoc)
            .map((d) => ts.getTextOfJSDocComment(d.comment) ?? "")
            .join(" ")
            .replace(/\s*\n\s*/g, " ")
            .trim();
        others.push([`### ${name}`, "", `\`${cell(shape.replace(/\s+/g, " "))}\``, "", cell(doc), ""].join("\n"));
    }
    sections.push(["## Other exports", "", ...others].join("\n"));
    return `# API reference\n\nGenerated by \`npx tsx scripts/api-reference.ts\` from the doc comments of the package root's exports (what the shipped \`.d.ts\` files carry). Do not edit by hand.\n\n${sections.join("\n")}`;
}

if (require.main === module) {
    const text = generate();
    if (process.argv.includes("--check")) {
        const now = fs.existsSync(OUT) ? fs.readFileSync(OUT, "utf8") : "";
        if (now !== text) {
            console.error(`${path.relative(ROOT, OUT)} is out of date: run npx tsx scripts/api-reference.ts`);
            process.exit(1);
        }
    } else {
        fs.mkdirSync(path.dirname(OUT), { recursive: true });
        fs.writeFileSync(OUT, text);
        console.log(`wrote ${path.relative(ROOT, OUT)}`);
    }
}
