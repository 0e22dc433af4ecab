/**
 * The component provider that other languages talk to (`pulumi package add`,
 * `get-schema`, `gen-sdk`, a YAML program's `packages:`).
 *
 * The engine runs this package through the Node.js language host's `RunPlugin`, which
 * runs `@pulumi/pulumi/cmd/run-plugin <package dir>`: it `require`s the directory, so
 * Node loads package.json's `main`, which is this file (consumers importing the
 * package resolve `exports`, the library's `dist/index.js`, instead). run-plugin calls an
 * exported function; had it found component classes in the export it would have
 * served them itself with the SDK's `componentProviderHost`, whose schema is the raw
 * inferred one. So this module exports one function, which serves the SDK's own
 * `ComponentProvider` (construction unchanged) behind a provider whose `getSchema`
 * returns the improved schema (schema.ts). The SDK is used, not patched or copied.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import * as pulumi from "@pulumi/pulumi";
import { ComponentProvider, getPulumiComponents } from "@pulumi/pulumi/provider/experimental";
import * as api from "../index";
import { readSourceDocs } from "./docs";
import { improveSchema } from "./schema";

/** The package directory (this file is dist/plugin/index.js). */
const ROOT = path.resolve(__dirname, "..", "..");

/** The SDK's component provider with the improved schema. */
class SchemaImprovingProvider implements pulumi.provider.Provider {
    readonly version: string;
    private improved?: Promise<string>;

    constructor(private readonly inner: ComponentProvider) {
        this.version = inner.version;
    }

    getSchema(): Promise<string> {
        this.improved ??= this.inner.getSchema().then((raw) => {
            const { schema, problems } = improveSchema(JSON.parse(raw), readSourceDocs(path.join(ROOT, "components")));
            // Never fatal for a user: test/package/schema.test.ts keeps the list empty.
            for (const p of problems) console.error(`reverse-ssh-tunnel schema: ${p}`);
            return JSON.stringify(schema);
        });
        return this.improved;
    }

    construct(name: string, type: string, inputs: pulumi.Inputs, options: pulumi.ComponentResourceOptions): Promise<pulumi.provider.ConstructResult> {
        return this.inner.construct(name, type, inputs, options);
    }
}

/** Serves the components on the port the engine reads from stdout, until the engine is done. */
async function serveComponentProvider(): Promise<void> {
    const pkg = JSON.parse(fs.readFileSync(path.join(ROOT, "package.json"), "utf8")) as { name: string };
    const inner = new ComponentProvider({ name: pkg.name, dirname: ROOT, components: getPulumiComponents(api) });
    // run-plugin leaves the engine's arguments after the program's in process.argv.
    await pulumi.provider.main(new SchemaImprovingProvider(inner), process.argv.slice(2));
}

export = serveComponentProvider;
