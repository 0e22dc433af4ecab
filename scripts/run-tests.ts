/**
 * `npm test`: runs vitest (unit and lab projects), then prints the plain closing line
 * `N passed, N failed[, N skipped]` from vitest's JSON report, keeping vitest's exit code.
 * Extra arguments go to vitest (e.g. `npm test -- --project unit`).
 */
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";

const root = path.resolve(__dirname, "..");
const report = path.join(root, ".state", "vitest-results.json");
fs.mkdirSync(path.dirname(report), { recursive: true });
fs.rmSync(report, { force: true });

const r = spawnSync("npx", ["vitest", "run", "--reporter=default", "--reporter=json", `--outputFile.json=${report}`, ...process.argv.slice(2)], {
    cwd: root,
    stdio: "inherit",
});

let passed = 0;
let failed = 0;
let skipped = 0;
if (fs.existsSync(report)) {
    const j = JSON.parse(fs.readFileSync(report, "utf8")) as { numPassedTests: number; numFailedTests: number; numPendingTests: number; numTodoTests: number };
    passed = j.numPassedTests;
    failed = j.numFailedTests;
    skipped = j.numPendingTests + j.numTodoTests;
}
// A run that crashed before reporting counts as a failure.
if (r.status !== 0 && failed === 0) failed = 1;
console.log(`${passed} passed, ${failed} failed${skipped ? `, ${skipped} skipped` : ""}`);
process.exit(r.status ?? 1);
