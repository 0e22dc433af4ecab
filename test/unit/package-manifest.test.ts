/**
 * What a publishable package needs in its manifest and next to it, the dependency
 * ranges a consumer can share, and the examples on today's `pulumi new typescript`
 * tsconfig. Fast checks of the files only; test/package installs the real tarball.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { describe, expect, it } from "vitest";
import { toolchainVersions } from "../support/toolchain-versions";

const ROOT = path.resolve(__dirname, "../..");
const read = (f: string) => fs.readFileSync(path.join(ROOT, f), "utf8");
const pkg = JSON.parse(read("package.json")) as Record<string, any>;
const lock = JSON.parse(read("package-lock.json")) as { packages: Record<string, { version: string; dependencies?: Record<string, string> }> };
const toolchain = toolchainVersions();

describe("publish-ready manifest", () => {
    it("is not private, names its license, repository and keywords", () => {
        expect(pkg.private).toBeUndefined();
        expect(pkg.license).toBe("MIT");
        expect(pkg.repository?.url).toMatch(/^git\+https:\/\/github\.com\/.+\/reverse-ssh-tunnel\.git$/);
        expect(pkg.keywords).toEqual(expect.arrayContaining(["pulumi", "ssh", "reverse-tunnel"]));
    });

    it("ships an MIT LICENSE of the reverse-ssh-tunnel authors and a CHANGELOG with the package's version", () => {
        const license = read("LICENSE");
        expect(license).toMatch(/^MIT License\n\nCopyright \(c\) \d{4} reverse-ssh-tunnel authors\n/);
        expect(license).toContain("THE SOFTWARE IS PROVIDED \"AS IS\", WITHOUT WARRANTY OF ANY KIND");
        expect(pkg.files).toContain("CHANGELOG.md");
        expect(read("CHANGELOG.md")).toMatch(new RegExp(`^## ${pkg.version.replace(/\./g, "\\.")}$`, "m"));
    });
});

describe("provider SDKs a consumer can share", () => {
    it.each([
        ["@pulumi/command", "NPM_COMMAND_VERSION"],
        ["@pulumi/tls", "NPM_TLS_VERSION"],
    ])("%s is a caret range from the tested version, and the lock installs exactly that one", (name, key) => {
        const tested = toolchain[key];
        expect(tested).toMatch(/^\d+\.\d+\.\d+$/);
        expect(pkg.dependencies[name]).toBe(`^${tested}`);
        expect(lock.packages[""]!.dependencies![name]).toBe(`^${tested}`);
        // The repo's own tests and the offline toolchain's plugin use the tested version.
        expect(lock.packages[`node_modules/${name}`]!.version).toBe(tested);
    });
});

describe("examples on today's `pulumi new typescript` tsconfig", () => {
    it.each(["consumer-ts", "consumer-halves-ts"])("examples/%s/tsconfig.json: nodenext, es2020, strict", (example) => {
        const { compilerOptions: o } = JSON.parse(read(`examples/${example}/tsconfig.json`)) as { compilerOptions: Record<string, unknown> };
        expect(o).toMatchObject({ module: "nodenext", moduleResolution: "nodenext", target: "es2020", strict: true });
    });
});
