/**
 * Runs the differential test: generated admin configurations (generator.ts) through the
 * library's real rendered apply script, in sandboxes over a Debian root (sandbox.sh,
 * worker.sh), then sshd's own verdict over the generator's probe connections.
 * Property: an accepted apply leaves no probe connection with a value other than the
 * policy's; a refused one leaves /etc/ssh as it was.
 */
import { execFileSync, spawn } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { expectedEffectiveSettings, renderSshdApplyScript } from "../../components/sshd/render";
import { CASE_PORT, CASE_USER, DiffCase, generateCase } from "./generator";

/** Outcome of one case. */
export interface CaseResult {
    id: number;
    /** "accepted", "refused", or "invalid" (sshd -t rejects the admin's own files). */
    outcome: "accepted" | "refused" | "invalid";
    /** Probe connections whose values differ from the policy (after acceptance: violations). */
    deviations: string[];
    /** A refused apply changed /etc/ssh. */
    mutated: boolean;
    /** Judge probes run. */
    probes: number;
    /** First bytes of the refusal or of sshd -t's complaint. */
    message: string;
}

/** Figures of one run. */
export interface DiffSummary {
    seed: number;
    cases: number;
    accepted: number;
    refused: number;
    invalid: number;
    /** Accepted, yet a probe deviates: the property is broken. */
    violations: CaseResult[];
    /** Refused, yet /etc/ssh changed. */
    mutations: CaseResult[];
    /** Refused although the placed policy holds on every probe. */
    falseRefusals: CaseResult[];
    /** Cases whose placed policy holds: accepted, or refused with no probe deviating. */
    safe: number;
    /** falseRefusals / safe (0 when no case is safe). */
    falseRefusalRate: number;
    seconds: number;
    results: CaseResult[];
}

const here = __dirname;

/**
 * Runs `count` generated cases of `seed` (ids from `first`), or the given `cases`, against
 * the sshd of the Debian root `root` ("/" = this machine's own).
 */
export async function runDifferential(opts: { root: string; seed: number; count: number; first?: number; workers?: number; keep?: boolean; cases?: DiffCase[]; applyScript?: string }): Promise<DiffSummary> {
    const started = Date.now();
    const work = fs.mkdtempSync(path.join(os.tmpdir(), "rst-diff-"));
    fs.chmodSync(work, 0o700);
    // applyScript: another rendering of the apply (e.g. an older release's), judged the same way.
    fs.writeFileSync(path.join(work, "apply.sh"), opts.applyScript ?? renderSshdApplyScript({ user: CASE_USER, listenPorts: [CASE_PORT] }));
    fs.writeFileSync(path.join(work, "want"), expectedEffectiveSettings({ user: CASE_USER, listenPorts: [CASE_PORT] }).map(([k, v]) => `${k} ${v}`).join("\n") + "\n");
    execFileSync("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-C", "rst-diff", "-f", path.join(work, "hostkey")]);
    const ids = opts.cases ? opts.cases.map((_, i) => i) : Array.from({ length: opts.count }, (_, i) => (opts.first ?? 0) + i);
    for (const id of ids) {
        const c = opts.cases ? opts.cases[id] : generateCase(opts.seed, id);
        const dir = path.join(work, "cases", String(id));
        for (const [tree, files] of [["etc", c.files], ["placed", c.placed]] as const) {
            for (const [rel, content] of Object.entries(files)) {
                const p = path.join(dir, tree, rel);
                fs.mkdirSync(path.dirname(p), { recursive: true });
                fs.writeFileSync(p, content, { mode: 0o644 });
            }
        }
        fs.writeFileSync(path.join(dir, "account"), c.account);
        fs.writeFileSync(path.join(dir, "probes"), c.probes.join("\n") + "\n");
    }
    const workers = Math.max(1, Math.min(opts.workers ?? os.cpus().length, ids.length));
    const shards = Array.from({ length: workers }, (_, w) => ids.filter((_, i) => i % workers === w));
    await Promise.all(
        shards.map(
            (shard, w) =>
                new Promise<void>((resolve, reject) => {
                    const list = path.join(work, `shard-${w}`);
                    fs.writeFileSync(list, shard.join("\n") + "\n");
                    const p = spawn("bash", [path.join(here, "sandbox.sh"), opts.root, work, list], { stdio: ["ignore", "ignore", "pipe"] });
                    let err = "";
                    p.stderr.on("data", (d) => (err += d));
                    p.on("close", (code) => (code === 0 ? resolve() : reject(new Error(`sandbox ${w} exited ${code}: ${err.slice(-2000)}`))));
                }),
        ),
    );
    const results: CaseResult[] = ids.map((id) => {
        const file = path.join(work, "results", String(id));
        const lines = fs.existsSync(file) ? fs.readFileSync(file, "utf8").split("\n") : ["rc missing"];
        const get = (k: string) => lines.find((l) => l.startsWith(`${k} `))?.slice(k.length + 1) ?? "";
        if (lines[0].startsWith("invalid")) return { id, outcome: "invalid", deviations: [], mutated: false, probes: 0, message: lines[0].slice(8) };
        return {
            id,
            outcome: get("rc") === "0" ? "accepted" : "refused",
            deviations: lines.filter((l) => l.startsWith("dev ")).map((l) => l.slice(4)),
            mutated: get("mutated") === "1",
            probes: Number(get("probes")),
            message: get("err"),
        };
    });
    if (!opts.keep) fs.rmSync(work, { recursive: true, force: true });
    else console.log(`differential work dir kept: ${work}`);
    const valid = results.filter((r) => r.outcome !== "invalid");
    const refused = valid.filter((r) => r.outcome === "refused");
    const falseRefusals = refused.filter((r) => r.deviations.length === 0);
    const safe = valid.filter((r) => r.outcome === "accepted" || r.deviations.length === 0).length;
    return {
        seed: opts.seed,
        cases: results.length,
        accepted: valid.length - refused.length,
        refused: refused.length,
        invalid: results.length - valid.length,
        violations: valid.filter((r) => r.outcome === "accepted" && r.deviations.length > 0),
        mutations: refused.filter((r) => r.mutated),
        falseRefusals,
        safe,
        falseRefusalRate: safe === 0 ? 0 : falseRefusals.length / safe,
        seconds: (Date.now() - started) / 1000,
        results,
    };
}

/** One line of figures for logs and the README. */
export function describeSummary(label: string, s: DiffSummary): string {
    return `${label}: seed ${s.seed}: ${s.cases} configurations, ${s.accepted} accepted, ${s.refused} refused, ${s.invalid} rejected by sshd -t itself; ` + `${s.violations.length} accepted with a deviating probe, ${s.mutations.length} refusals that changed /etc/ssh; ` + `false refusals ${s.falseRefusals.length} (${(100 * s.falseRefusalRate).toFixed(1)}% of the safe ones); ${s.seconds.toFixed(0)} s`;
}

/** Figures of several runs of one sshd version and seed added up (bench:differential's chunks). */
export interface DiffTotals {
    cases: number;
    accepted: number;
    refused: number;
    invalid: number;
    /** "seed S id N: deviations" of every case accepted with a deviating probe. */
    violations: string[];
    /** "seed S id N" of every refusal that changed /etc/ssh. */
    mutations: string[];
    falseRefusals: number;
    /** See {@link DiffSummary.safe}. */
    safe: number;
    probes: number;
}

/** Empty totals. */
export function emptyTotals(): DiffTotals {
    return { cases: 0, accepted: 0, refused: 0, invalid: 0, violations: [], mutations: [], falseRefusals: 0, safe: 0, probes: 0 };
}

/** Adds one run's figures to `t`. */
export function addToTotals(t: DiffTotals, s: DiffSummary): void {
    t.cases += s.cases;
    t.accepted += s.accepted;
    t.refused += s.refused;
    t.invalid += s.invalid;
    t.violations.push(...s.violations.map((r) => `seed ${s.seed} id ${r.id}: ${r.deviations.slice(0, 2).join("; ")}`));
    t.mutations.push(...s.mutations.map((r) => `seed ${s.seed} id ${r.id}`));
    t.falseRefusals += s.falseRefusals.length;
    t.safe += s.safe;
    t.probes += s.results.reduce((a, r) => a + r.probes, 0);
}

/** One line of figures for added-up runs. */
export function describeTotals(label: string, t: DiffTotals): string {
    return `${label}: ${t.cases} configurations: ${t.accepted} accepted, ${t.refused} refused, ${t.invalid} rejected by sshd -t; violations ${t.violations.length}, mutations ${t.mutations.length}; false refusals ${t.falseRefusals} of ${t.safe} safe (${((100 * t.falseRefusals) / Math.max(1, t.safe)).toFixed(2)}%); ${t.probes} judge probes`;
}
