/**
 * docs/api.md is generated from the components' doc comments and must match them,
 * and every arg and output must carry a description.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { describe, expect, it } from "vitest";
import { generate } from "../../scripts/api-reference";

describe("the API reference", () => {
    const text = generate();

    it("docs/api.md is up to date (regenerate: npx tsx scripts/api-reference.ts)", () => {
        expect(fs.readFileSync(path.resolve(__dirname, "../../docs/api.md"), "utf8")).toBe(text);
    });

    it("covers every component, and every arg and output has a description", () => {
        for (const c of ["ReverseTunnel", "TunnelAccount", "TunnelService", "SshdMatchBlock", "TunnelKeyPair", "MainHealthCheck"]) {
            expect(text).toContain(`## ${c}\n`);
        }
        const undocumented = text.split("\n").filter((l) => /^\| `/.test(l) && / \|\s*\|$/.test(l));
        expect(undocumented).toEqual([]);
    });
});
