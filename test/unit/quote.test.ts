import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { fileWord, heredoc, shJoin, shQuote } from "../../components/shell";

function bash(script: string): { stdout: string; status: number | null } {
    const r = spawnSync("bash", ["-c", script], { encoding: "utf8", maxBuffer: 64 * 1024 * 1024 });
    return { stdout: r.stdout, status: r.status };
}

const noNul = fc.string({ unit: "binary" }).filter((s) => !s.includes("\0"));
const nasty = (canary: string) =>
    fc.oneof(noNul, fc.constantFrom(`$(touch ${canary})`, `\`touch ${canary}\``, `'; touch ${canary}; '`, `"$HOME"`, "a\nb", "*", "~", "!!", "-n", "'", "\\", "$'\\x41'"));

// Many generated cases are checked in one bash process (a process per case blocks the
// test worker for minutes); every case is still its own quoted word in that script.
describe("shQuote", () => {
    it("makes any string one inert word in bash (property, 2000 cases)", () => {
        const canary = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "rst-q-")), "pwned");
        const cases = fc.sample(nasty(canary), { numRuns: 2000, seed: 42 });
        const r = bash(cases.map((s) => `printf '%s\\0' ${shQuote(s)}`).join("\n"));
        expect(r.status).toBe(0);
        expect(r.stdout.split("\0").slice(0, -1)).toEqual(cases);
        expect(fs.existsSync(canary)).toBe(false);
    });

    it("keeps a list as separate arguments (property)", () => {
        const lists = fc.sample(fc.array(noNul, { minLength: 1, maxLength: 5 }), { numRuns: 300, seed: 7 });
        // Each list prints its argument count, then its arguments, NUL-terminated.
        const r = bash(lists.map((argv) => `set -- ${shJoin(argv)}; printf '%d\\0' "$#"; for a in "$@"; do printf '%s\\0' "$a"; done`).join("\n"));
        const fields = r.stdout.split("\0");
        const got: string[][] = [];
        for (let i = 0; i < fields.length - 1; ) {
            const n = Number(fields[i]);
            got.push(fields.slice(i + 1, i + 1 + n));
            i += 1 + n;
        }
        expect(got).toEqual(lists);
    });

    it("refuses NUL, which no shell word can hold", () => {
        expect(() => shQuote("a\0b")).toThrow(/NUL/);
    });
});

describe("heredoc", () => {
    it("delivers any content byte for byte, even lines that look like delimiters (property)", () => {
        const contents = fc
            .sample(fc.array(fc.oneof(noNul.filter((s) => !s.includes("\n")), fc.constant("RST_EOF_0"), fc.constant("$(id)")), { maxLength: 8 }), { numRuns: 300, seed: 3 })
            .map((lines) => `${lines.join("\n")}\n`);
        const r = bash(contents.map((c) => `${heredoc("cat", c)}\nprintf '\\0'`).join("\n"));
        expect(r.stdout.split("\0").slice(0, -1)).toEqual(contents);
    });
});

describe("fileWord", () => {
    it("gives back any content byte for byte through a here-string and through printf (property)", () => {
        const contents = fc
            .sample(fc.array(fc.oneof(noNul.filter((s) => !s.includes("\n")), fc.constant(""), fc.constant("'"), fc.constant("$(id)")), { maxLength: 8 }), { numRuns: 300, seed: 5 })
            .map((lines) => `${lines.join("\n")}\n`);
        const viaHereString = bash(contents.map((c) => `v=${fileWord(c)}\ncat <<<"$v"\nprintf '\\0'`).join("\n"));
        expect(viaHereString.stdout.split("\0").slice(0, -1)).toEqual(contents);
        const viaPrintf = bash(contents.map((c) => `v=${fileWord(c)}\nprintf '%s\\n' "$v"\nprintf '\\0'`).join("\n"));
        expect(viaPrintf.stdout.split("\0").slice(0, -1)).toEqual(contents);
    });
    it("adds the trailing newline a here-document would add", () => {
        expect(bash(`v=${fileWord("a\nb")}; cat <<<"$v"`).stdout).toBe("a\nb\n");
    });
});
