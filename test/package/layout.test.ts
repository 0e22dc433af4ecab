/**
 * The repository is three things: the installable package (package.json `exports` →
 * dist/index.js), the component provider other languages use (package.json `main` →
 * dist/plugin/index.js: the engine's run-plugin `require`s the package directory, which
 * only `main` answers; importers resolve `exports`), and its own stack program
 * (index.ts). Pulumi resolves a nodejs program through package.json `main` unless
 * Pulumi.yaml names it, so Pulumi.yaml must keep `main: index.ts`; without it `pulumi
 * up` of this repo would start the provider and register nothing.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { describe, expect, it } from "vitest";

const ROOT = path.resolve(__dirname, "../..");

describe("package entry and stack program stay apart", () => {
    it("Pulumi.yaml names index.ts; package.json exports dist/index.js and starts the provider from main", () => {
        expect(fs.readFileSync(path.join(ROOT, "Pulumi.yaml"), "utf8")).toMatch(/^main: index\.ts$/m);
        const pkg = JSON.parse(fs.readFileSync(path.join(ROOT, "package.json"), "utf8"));
        expect(pkg.main).toBe("dist/plugin/index.js");
        expect(pkg.types).toBe("dist/index.d.ts");
        expect(pkg.exports["."]).toEqual({ types: "./dist/index.d.ts", default: "./dist/index.js" });
        expect(pkg.peerDependencies["@pulumi/pulumi"]).toBe("^3.212.0");
        expect(pkg.dependencies["@pulumi/pulumi"]).toBeUndefined();
    });
});
