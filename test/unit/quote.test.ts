import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { heredoc, shJoin, shQuote } from "../../components/shell";

function bash(script: string): { stdout: string; status: number | null } {
    const r = spawnSync("bash", ["-c", script], { encoding: "utf8" });
    return { stdout: r.stdout, status: r.status };
}

const noNul = fc.string({ unit: "binary" }).filter((s) => !s.includes("\0"));

describe("shQuote", () => {
    it("makes any string one inert word in bash (property)", () => {
        const canary = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "rst-q-")), "pwned");
        fc.assert(
            fc.property(fc.oneof(noNul, fc.constantFrom(`$(touch ${canary})`, `\`touch ${canary}\``, `'; touch ${canary}; '`, `"$HOME"`, "a\nb", "*", "~", "!!", "-n")), (s) => {
                const r = bash(`printf '%s' ${shQuote(s)}`);
                expect(r.status).toBe(0);
                expect(r.stdout).toBe(s);
                expect(fs.existsSync(canary)).toBe(false);
            }),
            { numRuns: 200 },
        );
    }, 180_000);

    it("keeps a list as separate arguments", () => {
        fc.assert(
            fc.property(fc.array(noNul, { minLength: 1, maxLength: 5 }), (argv) => {
                const r = bash(`for a in ${shJoin(argv)}; do printf '%s\\0' "$a"; done`);
                expect(r.stdout.split("\0").slice(0, -1)).toEqual(argv);
            }),
            { numRuns: 100 },
        );
    }, 180_000);

    it("refuses NUL, which no shell word can hold", () => {
        expect(() => shQuote("a\0b")).toThrow(/NUL/);
    });
});

describe("heredoc", () => {
    it("delivers any content byte for byte, even lines that look like delimiters (property)", () => {
        fc.assert(
            fc.property(fc.array(fc.oneof(noNul.filter((s) => !s.includes("\n")), fc.constant("RST_EOF_0"), fc.constant("$(id)")), { maxLength: 8 }), (lines) => {
                const content = `${lines.join("\n")}\n`;
                const r = bash(heredoc("cat", content));
                expect(r.stdout).toBe(content);
            }),
            { numRuns: 150 },
        );
    }, 180_000);
});
