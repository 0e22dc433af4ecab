/**
 * The differential test of issue 18 at length: COUNT generated admin configurations per
 * sshd version through the library's real apply script, judged by sshd itself (see
 * test/conformance/sshd-differential.test.ts, which runs a few per CI run).
 *
 *   npm run bench:differential -- [--count 20000] [--seed S] [--releases bookworm,trixie] [--first N]
 *
 * Prints per version: accepted, refused, rejected by sshd -t, violations (accepted with a
 * deviating probe: each is a bug, printed with seed and id for test/diff/regressions.ts),
 * refusals that changed /etc/ssh, the false-refusal rate, probes judged and throughput.
 * Runs in chunks of 500 so that progress shows; writes .state/bench/differential-<time>.json.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { ensureBaseRootfs } from "../lab/rootfs";
import { addToTotals, describeSummary, describeTotals, emptyTotals, runDifferential } from "../test/diff/run";

const args = process.argv.slice(2);
/** The value after `--name` on the command line, if given. */
const flag = (name: string): string | undefined => {
    const at = args.indexOf(`--${name}`);
    return at >= 0 ? args[at + 1] : undefined;
};
const count = Number(flag("count") ?? 1000);
const seed = Number(flag("seed") ?? Math.floor(Math.random() * 2 ** 31));
const first = Number(flag("first") ?? 0);
const releases = (flag("releases") ?? "bookworm,trixie").split(",");
const CHUNK = 500;

(async () => {
    const out: unknown[] = [];
    for (const release of releases) {
        const root = (await ensureBaseRootfs(release, console.log)).dir;
        const t0 = Date.now();
        const totals = emptyTotals();
        for (let at = first; at < first + count; at += CHUNK) {
            const n = Math.min(CHUNK, first + count - at);
            const s = await runDifferential({ root, seed, count: n, first: at });
            addToTotals(totals, s);
            console.log(`${release}: ${describeSummary(`cases ${at}..${at + n - 1}`, s)}`);
        }
        const secs = (Date.now() - t0) / 1000;
        const line = `${describeTotals(`${release}: seed ${seed}`, totals)}; ${secs.toFixed(0)} s (${(totals.cases / secs).toFixed(2)} configurations/s)`;
        console.log(line);
        for (const v of [...totals.violations, ...totals.mutations]) console.log(`  FAILING ${v}`);
        out.push({ release, seed, line, ...totals });
    }
    const dir = path.resolve(__dirname, "../.state/bench");
    fs.mkdirSync(dir, { recursive: true });
    fs.writeFileSync(path.join(dir, `differential-${new Date().toISOString().replace(/[:.]/g, "-")}.json`), JSON.stringify(out, null, 2));
    const failed = out.some((o) => (o as { violations: string[]; mutations: string[] }).violations.length + (o as { mutations: string[] }).mutations.length > 0);
    process.exit(failed ? 1 : 0);
})().catch((e) => {
    console.error(e);
    process.exit(1);
});
