import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { describe, expect, it } from "vitest";
import { allScripts } from "../support/render-all";

const dir = fs.mkdtempSync(path.join(os.tmpdir(), "rst-lint-"));

describe.each(Object.entries(allScripts()))("rendered script %s", (name, script) => {
    const file = path.join(dir, `${name}.sh`);
    fs.writeFileSync(file, script);

    it("parses with bash -n", () => {
        const r = spawnSync("bash", ["-n", file], { encoding: "utf8" });
        expect(r.stderr).toBe("");
        expect(r.status).toBe(0);
    });

    it("passes shellcheck", () => {
        const r = spawnSync("shellcheck", ["--shell=bash", "--severity=style", file], { encoding: "utf8" });
        // shellcheck is a Debian package installed by .ci/run: a missing binary is a failure, not a skip.
        expect(r.error, "shellcheck must be installed").toBeUndefined();
        expect(r.stdout).toBe("");
        expect(r.status).toBe(0);
    });

    it("uses strict mode and never reads secrets from its arguments", () => {
        expect(script).toMatch(/^#!\/bin\/bash\n/);
        // The commands run from timers and terminals go on past a failed check (set -u only).
        if (name !== "health-command" && name !== "monitor-command") expect(script).toContain("set -euo pipefail");
        expect(script).not.toMatch(/PRIVATE KEY/);
    });
});
