/**
 * Self-healing and revocation benchmark, ours vs the seed recipe, side by side on
 * the lab: backup1 runs our tunnel, backup2 the seed's unit and script, both into
 * the same main. Each fault hits both at once; we measure, from the end of the
 * fault, how long until `ssh` from main through each tunnel works again (capped).
 *
 *   npm run bench -- [--quick] [--reps N] [--long-reps N] [--cap-s S] [--only case,case]
 *
 * Prints a table and writes .state/bench/selfheal-<timestamp>.json. In --quick mode
 * (CI) fault durations are shortened and the process exits non-zero when one of our
 * recoveries exceeds twice its budget or a revocation exceeds 10 s.
 */
import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { servicePaths } from "../components/service";
import { hostExec, LabDescription, loadLab, natRotate, rebootHost, restartSshd, setBlackhole, setLink } from "../lab/client";
import { applyTunnel, destroyTunnel, generateTunnelKey, LabTunnel, revokeOnMain } from "../test/support/apply";
import { applySeedBackup, applySeedMain, removeSeedBackup, removeSeedMain, SEED_USER } from "../test/support/seed";
import { keyRefused, sshdPssKb } from "../test/support/hosts";
import { installProbeKnownHosts, Subject, timeToRecover, tunnelUp } from "./probes";

const args = process.argv.slice(2);
const flag = (n: string) => args.includes(`--${n}`);
const opt = (n: string, d: string) => {
    const i = args.indexOf(`--${n}`);
    return i >= 0 && args[i + 1] !== undefined ? args[i + 1]! : d;
};
const quick = flag("quick");
const reps = Number(opt("reps", quick ? "1" : "3"));
const longReps = Number(opt("long-reps", quick ? "1" : "1"));
const capMs = Number(opt("cap-s", quick ? "90" : "900")) * 1000;
const only = opt("only", "").split(",").filter(Boolean);
const root = path.resolve(__dirname, "..");
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Our recovery budget after a fault ends (README: ConnectTimeout + RestartSec, promised <= 30 s). */
const BUDGET_MS = 30_000;

interface FaultCase {
    id: string;
    what: string;
    /** Long faults (10 min) run `--long-reps` times (default 1) in full mode. */
    long?: boolean;
    /** Applies the fault and ends it; resolves at the moment the fault ends. */
    run: (lab: LabDescription) => Promise<void>;
}

const dur = (full: number, q: number) => (quick ? q : full);
/** A fault that holds for `ms`: `on` at the start, `off` at the end. */
const timed = (id: string, what: string, ms: number, long: boolean, on: (lab: LabDescription) => Promise<unknown>, off: (lab: LabDescription) => Promise<unknown>): FaultCase => ({
    id,
    what,
    long,
    run: async (lab) => {
        await on(lab);
        await sleep(ms);
        await off(lab);
    },
});
const linkCut = (id: string, ms: number, long: boolean) =>
    timed(id, `link cut (interface down) ${ms / 1000} s`, ms, long, (lab) => setLink(lab.main, "down", "internet", lab), (lab) => setLink(lab.main, "up", "internet", lab));
const blackhole = (id: string, ms: number, long: boolean) =>
    timed(id, `silent black hole ${ms / 1000} s`, ms, long, (lab) => setBlackhole(true, undefined, lab), (lab) => setBlackhole(false, undefined, lab));

const CASES: FaultCase[] = [
    { id: "sshd-restart", what: "sshd restart on main", run: (lab) => restartSshd(lab.main, lab) },
    { id: "main-reboot", long: true, what: "main reboot", run: async (lab) => void (await rebootHost(lab.main, {}, lab)) },
    {
        id: "backup-power-cut",
        what: "backup killed + boot (both backups)",
        run: async (lab) => void (await Promise.all(lab.backups.map((b) => rebootHost(b, { hard: true }, lab)))),
    },
    linkCut("link-cut-short", dur(30_000, 10_000), false),
    linkCut("link-cut-long", dur(600_000, 60_000), true),
    blackhole("blackhole-short", 30_000, false),
    blackhole("blackhole-long", dur(600_000, 60_000), true),
    { id: "nat-rotate", long: true, what: "backup's public address changes (NAT rotation)", run: async (lab) => void (await natRotate(undefined, lab)) },
];

const OURS: LabTunnel = { name: "pi", backupHost: "backup1", port: 2222 };
const SEED_PORT = 2224;

function median(xs: number[]): number {
    const s = [...xs].sort((a, b) => a - b);
    return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
}

function fmt(ms: number | null): string {
    return ms === null ? `> ${capMs / 1000} s (never)` : `${(ms / 1000).toFixed(1)} s`;
}

async function waitAllUp(lab: LabDescription, subjects: Subject[], ms: number): Promise<void> {
    const r = await timeToRecover(lab, subjects, ms);
    const down = Object.entries(r).filter(([, v]) => v === null).map(([k]) => k);
    if (down.length > 0) throw new Error(`tunnels not up before the case: ${down.join(", ")}`);
}

/** Starts from scratch: seed on backup2, ours on backup1. Used before every repetition for independence. */
async function provision(lab: LabDescription, seedKey: { privateKey: string; publicKey: string }): Promise<Subject[]> {
    await applyTunnel(OURS, lab);
    await applySeedMain(lab, seedKey.publicKey);
    await applySeedBackup(lab, "backup2", seedKey.privateKey, SEED_PORT);
    const subjects: Subject[] = [
        { label: "ours", backupHost: "backup1", port: OURS.port, user: "tunnel-pi" },
        { label: "seed", backupHost: "backup2", port: SEED_PORT, user: SEED_USER },
    ];
    await installProbeKnownHosts(lab);
    return subjects;
}

/** Revocation timeline for ours: start -> key refused, live tunnel cut, port closed. */
async function measureRevocation(lab: LabDescription, stolenKey: string): Promise<{ keyRefusedMs: number; tunnelCutMs: number; portClosedMs: number }> {
    const refused = () => keyRefused(lab, "tunnel-pi", stolenKey, 3000);
    const t0 = Date.now();
    const marks = { keyRefusedMs: -1, tunnelCutMs: -1, portClosedMs: -1 };
    let done = false;
    const watch = (async () => {
        while (!done || marks.keyRefusedMs < 0 || marks.tunnelCutMs < 0 || marks.portClosedMs < 0) {
            if (Date.now() - t0 > 60_000) break;
            const st = await hostExec(lab.main, ["sh", "-c", "pgrep -u tunnel-pi >/dev/null && echo live || echo cut; ss -Hltn 'sport = :2222' | grep -q . && echo open || echo closed"]);
            const [live, port] = st.stdout.trim().split("\n");
            if (marks.tunnelCutMs < 0 && live === "cut") marks.tunnelCutMs = Date.now() - t0;
            if (marks.portClosedMs < 0 && port === "closed") marks.portClosedMs = Date.now() - t0;
            if (marks.keyRefusedMs < 0 && refused()) marks.keyRefusedMs = Date.now() - t0;
            await sleep(100);
        }
    })();
    await revokeOnMain(OURS, lab);
    done = true;
    await watch;
    return marks;
}

/** Throughput of ssh-through-the-tunnel vs a plain `ssh -R` on the same link. */
async function throughput(lab: LabDescription): Promise<{ oursMBps: number; plainMBps: number; ratio: number }> {
    const mb = quick ? 64 : 256;
    // A plain reverse forward from backup1 as main's admin (no restrictions, no sandbox).
    const adminKey = fs.readFileSync(lab.admin.privateKeyPath, "utf8");
    const mainPub = lab.hosts[lab.main]!.addresses.public;
    await hostExec("backup1", ["sh", "-c", "install -d -m 700 /root/.rst-bench && cat > /root/.rst-bench/k && chmod 600 /root/.rst-bench/k"], { stdin: adminKey });
    await hostExec("backup1", ["sh", "-c", `(setsid ssh -F /dev/null -i /root/.rst-bench/k -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o BatchMode=yes -N -R localhost:2298:localhost:22 admin@${mainPub} </dev/null >/dev/null 2>&1 &)`]);
    await sleep(2000);
    const time = async (port: number) => {
        const t0 = process.hrtime.bigint();
        const r = await hostExec(lab.main, ["sh", "-c", `runuser -u admin -- ssh -o BatchMode=yes -o HostKeyAlias=backup1 -o UserKnownHostsFile=/etc/ssh/rst-bench-known_hosts -p ${port} pi@localhost 'head -c ${mb}M /dev/zero' | wc -c`], { timeoutMs: 300_000 });
        const s = Number(process.hrtime.bigint() - t0) / 1e9;
        if (Number(r.stdout.trim()) !== mb * 1024 * 1024) throw new Error(`throughput transfer on port ${port} failed: ${r.stderr}`);
        return mb / s;
    };
    const ours: number[] = [];
    const plain: number[] = [];
    for (let i = 0; i < 3; i++) {
        ours.push(await time(2222));
        plain.push(await time(2298));
    }
    await hostExec("backup1", ["sh", "-c", "pkill -f 'localhost:2298:localhost:22'; rm -rf /root/.rst-bench"]);
    const o = median(ours);
    const p = median(plain);
    return { oursMBps: Number(o.toFixed(1)), plainMBps: Number(p.toFixed(1)), ratio: Number((o / p).toFixed(3)) };
}

async function main(): Promise<void> {
    const started = new Date();
    execFileSync("npx", ["tsx", "lab/cli.ts", "up", "--backups", "2"], { cwd: root, stdio: "inherit" });
    const lab = loadLab();
    const seedKey = generateTunnelKey("rsa");
    let subjects = await provision(lab, seedKey);
    console.log("waiting for both tunnels (the seed's script sleeps 30 s first)...");
    const firstUp = await timeToRecover(lab, subjects, 120_000);
    console.log(`initial connect: ours ${fmt(firstUp.ours ?? null)}, seed ${fmt(firstUp.seed ?? null)}`);

    const results: Array<{ id: string; what: string; ours: Array<number | null>; seed: Array<number | null> }> = [];
    for (const fc of CASES.filter((x) => only.length === 0 || only.includes(x.id))) {
        const row = { id: fc.id, what: fc.what, ours: [] as Array<number | null>, seed: [] as Array<number | null> };
        for (let i = 0; i < (fc.long ? longReps : reps); i++) {
            // Each repetition starts with both tunnels up (a seed that never came back is reset).
            if (!(await tunnelUp(lab, subjects[1]!)) || !(await tunnelUp(lab, subjects[0]!))) {
                await hostExec("backup2", ["sh", "-c", "systemctl restart tunnel.service"]);
                await hostExec(lab.main, ["sh", "-c", `pkill -KILL -u ${SEED_USER}; true`]);
                subjects = await provision(lab, seedKey);
                await waitAllUp(lab, subjects, 120_000);
            }
            process.stdout.write(`${fc.id} #${i + 1}: fault... `);
            await fc.run(lab);
            const r = await timeToRecover(lab, subjects, capMs);
            row.ours.push(r.ours ?? null);
            row.seed.push(r.seed ?? null);
            console.log(`ours ${fmt(r.ours ?? null)}, seed ${fmt(r.seed ?? null)}`);
        }
        results.push(row);
    }

    const memKb = await sshdPssKb(lab.main, "tunnel-pi");
    const tp = await throughput(lab).catch((e: Error) => ({ error: e.message }));
    const revocations: Array<{ keyRefusedMs: number; tunnelCutMs: number; portClosedMs: number }> = [];
    for (let i = 0; i < reps; i++) {
        // Re-provision (revocation removed the account) and steal the key from the backup's disk.
        await applyTunnel(OURS, lab);
        const stolen = fs.readFileSync(path.join(lab.hosts.backup1!.rootfs, servicePaths("pi").privateKey), "utf8");
        await waitAllUp(lab, [subjects[0]!], 60_000);
        revocations.push(await measureRevocation(lab, stolen));
    }

    // Report.
    const worst = (xs: Array<number | null>) => (xs.includes(null) ? null : Math.max(...(xs as number[])));
    const med = (xs: Array<number | null>) => (xs.includes(null) && xs.filter((x) => x !== null).length <= xs.length / 2 ? null : median(xs.map((x) => x ?? Infinity)));
    const lines = [
        `Self-healing, ours vs seed recipe (same lab, same run; ${started.toISOString()}, ${os.cpus().length} cores, ${quick ? "quick" : "full"} mode, ${reps} rep(s), ${longReps} for long faults, cap ${capMs / 1000} s)`,
        "",
        "| fault | ours median | ours worst | seed median | seed worst |",
        "|---|---|---|---|---|",
        ...results.map((r) => `| ${r.what} | ${fmt(med(r.ours))} | ${fmt(worst(r.ours))} | ${fmt(med(r.seed))} | ${fmt(worst(r.seed))} |`),
        "",
        "| revocation (ours, main side) | median | worst |",
        "|---|---|---|",
        ...(["keyRefusedMs", "tunnelCutMs", "portClosedMs"] as const).map((k) => `| ${k.replace("Ms", "")} | ${(median(revocations.map((r) => r[k])) / 1000).toFixed(2)} s | ${(Math.max(...revocations.map((r) => r[k])) / 1000).toFixed(2)} s |`),
        "",
        `throughput through the tunnel: ${JSON.stringify(tp)}`,
        `main's memory per tunnel (PSS of its sshd processes): ${memKb} kB`,
    ];
    console.log(`\n${lines.join("\n")}`);
    const outDir = path.join(root, ".state", "bench");
    fs.mkdirSync(outDir, { recursive: true });
    const file = path.join(outDir, `selfheal-${started.toISOString().replace(/[:.]/g, "-")}.json`);
    fs.writeFileSync(file, JSON.stringify({ started, quick, reps, capMs, budgetMs: BUDGET_MS, firstUp, results, revocations, throughput: tp, memKb, table: lines }, null, 2));
    console.log(`\nwrote ${file}`);

    // Clean up the lab hosts for whoever comes next.
    await destroyTunnel(OURS, {}, lab).catch(() => undefined);
    await removeSeedBackup(lab, "backup2").catch(() => undefined);
    await removeSeedMain(lab).catch(() => undefined);

    if (quick) {
        const slow = results.flatMap((r) => r.ours.map((v) => ({ id: r.id, v }))).filter(({ v }) => v === null || v > 2 * BUDGET_MS);
        const slowRevoke = revocations.filter((r) => Math.max(r.keyRefusedMs, r.tunnelCutMs, r.portClosedMs) > 10_000 || Math.min(r.keyRefusedMs, r.tunnelCutMs, r.portClosedMs) < 0);
        if (slow.length > 0 || slowRevoke.length > 0) {
            console.error(`REGRESSION: recoveries over 2x budget: ${JSON.stringify(slow)}; slow revocations: ${JSON.stringify(slowRevoke)}`);
            process.exit(1);
        }
        console.log("regression guard: all recoveries within 2x budget, revocations within 10 s");
    }
}

main().catch((e) => {
    console.error(e);
    process.exit(1);
});
