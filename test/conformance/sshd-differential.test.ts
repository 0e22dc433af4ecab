/**
 * sshd is the judge (issue 18): generated admin configurations and the fixed
 * regression cases go through the library's real rendered apply script, on Debian 12's
 * sshd (OpenSSH 9.2) and Debian 13's (10.0) from the lab's cached Debian roots, each in
 * a sandbox (private mount and network namespace, overlay over the root). sshd then
 * judges the result over probe connections the generator derives from what it wrote.
 *
 * Property: an accepted apply leaves no probe connection with a value other than the
 * policy's, and a refused one leaves /etc/ssh as it was. Each run uses a fixed seed and a
 * new one (printed; rerun it with RST_DIFF_SEED); the false-refusal rate is printed and
 * must stay under 5%. Longer runs: `npm run bench:differential -- --count 20000`.
 * A configuration found accepted with a deviating probe belongs in test/diff/regressions.ts.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { ensureBaseRootfs } from "../../lab/rootfs";
import { REGRESSIONS } from "../diff/regressions";
import { describeSummary, DiffSummary, runDifferential } from "../diff/run";

/** The seed every run checks, so that a result is reproducible across runs. */
const FIXED_SEED = 20261203;
/** Cases per seed and sshd version in `npm test` (the budget of a CI run; see docs/security.md). */
const PER_SEED = Number(process.env.RST_DIFF_COUNT ?? 40);
const NEW_SEED = Number(process.env.RST_DIFF_SEED ?? Math.floor(Math.random() * 2 ** 31));
const reports = path.resolve(__dirname, "../../.state/reports");

const roots: Record<string, string> = {};
beforeAll(async () => {
    for (const release of ["bookworm", "trixie"]) roots[release] = (await ensureBaseRootfs(release, (m) => console.log(m))).dir;
}, 1_200_000);

function record(label: string, s: DiffSummary): void {
    const line = describeSummary(label, s);
    console.log(line);
    fs.mkdirSync(reports, { recursive: true });
    const failing = [...s.violations, ...s.mutations].map((r) => ({ seed: s.seed, id: r.id, outcome: r.outcome, deviations: r.deviations.slice(0, 5), message: r.message }));
    fs.appendFileSync(path.join(reports, "sshd-differential.jsonl"), JSON.stringify({ label, line, failing }) + "\n");
}

function holds(s: DiffSummary): void {
    const show = (r: { id: number; deviations: string[]; message: string }) => `case ${r.id} (seed ${s.seed}): ${r.deviations.slice(0, 3).join("; ")} ${r.message.slice(0, 300)}`;
    expect(s.violations.map(show), "accepted, yet sshd gives a probe connection other values than the policy's").toEqual([]);
    expect(s.mutations.map(show), "refused, yet /etc/ssh changed").toEqual([]);
    expect(s.accepted + s.refused).toBeGreaterThan(0.8 * s.cases);
}

for (const [release, version] of [["bookworm", "OpenSSH 9.2"], ["trixie", "OpenSSH 10.0"]] as const) {
    describe(`sshd judges the apply: Debian ${release === "bookworm" ? 12 : 13} (${version})`, () => {
        it("the regression cases: each refused or accepted as it should be, none accepted with a deviating probe", async () => {
            const s = await runDifferential({ root: roots[release], seed: 0, count: 0, cases: REGRESSIONS.map((r) => r.case) });
            record(`${release} regressions`, s);
            holds(s);
            const outcomes = s.results.map((r) => `${REGRESSIONS[r.id].name}: ${r.outcome}`);
            expect(outcomes).toEqual(REGRESSIONS.map((r) => `${r.name}: ${r.expect}`));
        }, 600_000);
        for (const [kind, seed] of [["fixed", FIXED_SEED], ["new", NEW_SEED]] as const) {
            it(`${PER_SEED} generated configurations, ${kind} seed ${seed}: accepted => no probe deviates; false refusals under 5%`, async () => {
                const s = await runDifferential({ root: roots[release], seed, count: PER_SEED });
                record(`${release} ${kind}`, s);
                holds(s);
                expect(s.falseRefusalRate).toBeLessThan(0.05);
            }, 1_800_000);
        }
    });
}
