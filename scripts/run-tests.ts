/**
 * `npm test`: runs the vitest projects one after the other (unit, conformance, package, multilang, then lab: the lab
 * tests share one set of hosts and must not overlap anything else), then prints
 * the plain closing line `N passed, N failed[, N skipped]` from vitest's JSON
 * reports. Arguments go to vitest (e.g. `npm test -- --project unit`), in one run.
 * Off a terminal (CI, a pipe) scripts/progress-reporter.ts adds a line per finished test
 * with its duration and a heartbeat when nothing was printed for 10 s; on a terminal
 * vitest's own live display does that.
 * First it installs the Debian packages the tests need when they are missing
 * (scripts/test-prerequisites.ts: openssh-server and postgresql, as root; their
 * services stopped again) and, for a full run, the whole offline toolchain
 * (toolchain/setup.sh --all: the demo builds only what `pulumi up` needs).
 */
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { ensureTestPackages, machine, runInherit } from "./test-prerequisites";

const root = path.resolve(__dirname, "..");
const stateDir = path.join(root, ".state");
fs.mkdirSync(stateDir, { recursive: true });

interface Counts {
    passed: number;
    failed: number;
    skipped: number;
}

function runVitest(label: string, args: string[]): { status: number; counts: Counts } {
    const report = path.join(stateDir, `vitest-${label}.json`);
    fs.rmSync(report, { force: true });
    const progress = process.stdout.isTTY ? [] : ["--reporter=./scripts/progress-reporter.ts"];
    const r = spawnSync("npx", ["vitest", "run", "--reporter=default", ...progress, "--reporter=json", `--outputFile.json=${report}`, ...args], { cwd: root, stdio: "inherit" });
    const counts: Counts = { passed: 0, failed: 0, skipped: 0 };
    if (fs.existsSync(report)) {
        const j = JSON.parse(fs.readFileSync(report, "utf8")) as { numPassedTests: number; numFailedTests: number; numPendingTests: number; numTodoTests: number };
        counts.passed = j.numPassedTests;
        counts.failed = j.numFailedTests;
        counts.skipped = j.numPendingTests + j.numTodoTests;
    }
    const status = r.status ?? 1;
    // A run that crashed before reporting (e.g. the lab could not start) counts as a failure.
    if (status !== 0 && counts.failed === 0) counts.failed = 1;
    return { status, counts };
}

ensureTestPackages(machine, runInherit);

const extra = process.argv.slice(2);
// The engine, package, multilang and lab tests run the offline toolchain; the demo
// builds only its core, so the YAML host and the Go SDK generator come here (a no-op
// once cached). A custom run (`npm test -- ...`) leaves the toolchain as it is.
if (extra.length === 0) {
    const tc = spawnSync("bash", ["toolchain/setup.sh", "--all"], { cwd: root, stdio: ["ignore", "ignore", "inherit"], env: { ...process.env, RST_TOOLCHAIN_OFFLINE: "1" } });
    if (tc.status !== 0) {
        console.error("npm test: toolchain/setup.sh --all failed (its log is above); no test was run");
        console.log("0 passed, 1 failed");
        process.exit(1);
    }
}

const runs =
    extra.length > 0
        ? [runVitest("custom", extra)]
        : [
              runVitest("unit", ["--project", "unit"]),
              runVitest("conformance", ["--project", "conformance"]),
              runVitest("package", ["--project", "package"]),
              runVitest("multilang", ["--project", "multilang"]),
              runVitest("lab", ["--project", "lab"]),
          ];
const total = runs.reduce((a, r) => ({ passed: a.passed + r.counts.passed, failed: a.failed + r.counts.failed, skipped: a.skipped + r.counts.skipped }), { passed: 0, failed: 0, skipped: 0 });
console.log(`${total.passed} passed, ${total.failed} failed${total.skipped ? `, ${total.skipped} skipped` : ""}`);
process.exit(runs.every((r) => r.status === 0) ? 0 : 1);
