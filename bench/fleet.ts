/**
 * Fleet benchmark under the real engine, N backups on one main: `pulumi up`
 * (fresh stack), a no-op `up`, adding one backup to N, revoking it again,
 * `destroy`, and main's sshd memory per tunnel. For add and revoke it also
 * counts the other N tunnels whose ssh client process changed (goal: none).
 *
 *   npm run bench:fleet -- [--sizes 1,20,50,100] [--parallel P] [--shards K] [--agent]
 *
 * `--shards K` splits the N backups into K stacks on the same main (as an MSP would
 * keep one stack per client) and runs their ups, no-op ups and destroys at the same
 * time; add and revoke touch the last stack.
 *
 * `--parallel` is the engine's `--parallel` (default: Pulumi's, 4 x CPUs). It also
 * reports the state's size per backup: the engine rewrites the whole state after
 * every step, so its size drives the cost of a large up.
 *
 * Where the lab hosts' CPU goes during the fresh up is printed per backup, by cgroup
 * (bench/host-cpu.ts): Pulumi's logins and what the apply scripts run (sshd -T checks
 * included), the tunnels' sessions, sshd, journald, logind, systemd, the tunnel units;
 * and by program from process accounting (bench/process-cpu.ts: needs the Debian
 * package acct; it turns process accounting off at the end).
 *
 * Boots a fresh lab (purged first) with max(sizes)+1 backups (the lab raises the kernel's inotify
 * and keyring limits it needs). Prints a table and writes
 * .state/bench/fleet-<timestamp>.json.
 */
import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { hostExec, loadLab } from "../lab/client";
import { adaptLabJson, labLookup } from "../components/config/lab";
import { sshdPssKb } from "../test/support/hosts";
import { openStack, setStackConfig } from "../test/support/engine";
import { diffCpu, hostCpuNow, sampleLogins } from "./host-cpu";
import { startProcessAccounting } from "./process-cpu";

const args = process.argv.slice(2);
/** The value after `--name` on the command line, if given. */
const flag = (name: string): string | undefined => {
    const at = args.indexOf(`--${name}`);
    return at >= 0 ? args[at + 1] : undefined;
};
const sizes = (flag("sizes") ?? "1,20,50,100").split(",").map(Number);
const parallel = flag("parallel") !== undefined ? Number(flag("parallel")) : undefined;
const engineOpts = parallel !== undefined ? { parallel } : {};
const shards = Number(flag("shards") ?? 1);
/**
 * `--agent`: Pulumi logs in with an SSH agent holding the lab's admin key instead of the
 * key in the stack config, as docs/fleets.md advises for fleets: no command record then
 * stores the admin key (in its connection, inputs and outputs).
 */
const agent = args.includes("--agent");
const root = path.resolve(__dirname, "..");

const backup = (k: number) => ({ name: `f${k}`, lab: `backup${k}`, tunnelPort: 2400 + k });

/**
 * State bytes per backup by kind of resource: a backup's resources are named
 * `f<k>-<kind>` (or `f<k>` for its components, told apart by type), its library upload
 * `backup-scripts-<host>`; everything else is shared by the stack's backups and counted
 * as "shared: <type>". `stdin` is the
 * part of a record that is the command's stdin (input and output copies).
 */
function stateByKind(deployments: readonly unknown[], backups: number): Map<string, { bytes: number; stdin: number }> {
    const out = new Map<string, { bytes: number; stdin: number }>();
    for (const d of deployments) {
        for (const r of ((d as { resources?: Array<Record<string, any>> }).resources ?? [])) {
            const name = String(r.urn).split("::").at(-1)!;
            const type = String(r.type).split(":").at(-1)!;
            const m = /^f[0-9]+(?:-(.+))?$/.exec(name);
            // A backup's library upload is named after its host, one per backup.
            const kind = name.startsWith("backup-scripts-") ? "backup-scripts (library upload)" : m === null ? `shared: ${type}` : (m[1] ?? `component ${type}`);
            const stdin = JSON.stringify(r.inputs?.stdin ?? "").length - 2 + JSON.stringify(r.outputs?.stdin ?? "").length - 2;
            const e = out.get(kind) ?? { bytes: 0, stdin: 0 };
            e.bytes += JSON.stringify(r).length / backups;
            e.stdin += stdin / backups;
            out.set(kind, e);
        }
    }
    return out;
}
/** A host of the lab description, as the stack reads it (read once, after the lab is up). */
const labHost = labLookup(path.join(root, ".state/lab/lab.json"), adaptLabJson);
/**
 * A lab host as stack config: by its lab name (the key file comes with it), or with
 * `--agent` spelled out without a key (the engine then uses the agent).
 */
function hostConfig(name: string): Record<string, unknown> {
    if (!agent) return { lab: name };
    const h = labHost("--agent", name);
    const ed25519 = h.hostKeys.find((k) => k.startsWith("ssh-ed25519"));
    return {
        host: h.address,
        user: h.adminUser,
        hostKey: ed25519,
        ...(h.port !== undefined ? { port: h.port } : {}),
        ...(name === "main" && h.publicAddress !== undefined ? { publicHost: h.publicAddress } : {}),
        ...(name !== "main" && h.loginUser !== undefined ? { loginUser: h.loginUser } : {}),
    };
}
/** Backups `from..to` (1-based, inclusive) as one stack's config. */
const config = (from: number, to: number) => ({
    lab: ".state/lab/lab.json",
    main: hostConfig("main"),
    backups: Array.from({ length: to - from + 1 }, (_, k) => {
        const { lab, ...b } = backup(from + k);
        return { ...b, ...hostConfig(lab) };
    }),
});

/** Starts an agent holding the lab's admin key for the engine (SSH_AUTH_SOCK); returns its stop, which also runs when the bench exits early. */
function startAgent(): () => void {
    const dir = fs.mkdtempSync(path.join(root, ".state", "bench", "agent-"));
    fs.chmodSync(dir, 0o700);
    const sock = path.join(dir, "agent.sock");
    const out = execFileSync("ssh-agent", ["-s", "-a", sock], { encoding: "utf8" });
    const pid = /SSH_AGENT_PID=(\d+)/.exec(out)?.[1];
    const key = labHost("--agent", "main").adminKeyPath;
    execFileSync("ssh-add", ["-q", key], { env: { ...process.env, SSH_AUTH_SOCK: sock }, stdio: "inherit" });
    process.env.SSH_AUTH_SOCK = sock;
    let stopped = false;
    const stop = () => {
        if (stopped) return;
        stopped = true;
        delete process.env.SSH_AUTH_SOCK;
        if (pid !== undefined) process.kill(Number(pid));
        fs.rmSync(dir, { recursive: true, force: true });
    };
    process.once("exit", stop);
    return stop;
}
/** N backups split into `shards` stacks of consecutive backups: [from, to] per stack. */
const split = (n: number): Array<[number, number]> => {
    const per = Math.ceil(n / shards);
    return Array.from({ length: shards }, (_, i): [number, number] => [i * per + 1, Math.min(n, (i + 1) * per)]).filter(([a, b]) => a <= b);
};

/** MainPID of each tunnel's unit on its backup (the ssh client), f1..fn. */
async function tunnelPids(n: number): Promise<string[]> {
    const out: string[] = [];
    for (let k = 1; k <= n; k += 10) {
        const batch = Array.from({ length: Math.min(10, n - k + 1) }, (_, j) => k + j);
        out.push(
            ...(await Promise.all(
                batch.map(async (b) => (await hostExec(`backup${b}`, ["systemctl", "show", "-P", "MainPID", `reverse-ssh-tunnel-f${b}`])).stdout.trim()),
            )),
        );
    }
    return out;
}

/**
 * CPU seconds used so far by the lab's hosts (their cgroups) and by the whole machine.
 * The lab runs main and every backup on this machine's cores; in the field they are
 * separate machines, so the bench reports which share of an up's CPU they took.
 */
function cpuSeconds(): { hosts: number; machine: number } {
    const base = "/sys/fs/cgroup/unified/rst-lab";
    let hosts = 0;
    for (const h of fs.existsSync(base) ? fs.readdirSync(base) : []) {
        const stat = path.join(base, h, "cpu.stat");
        if (fs.existsSync(stat)) hosts += Number(/usage_usec (\d+)/.exec(fs.readFileSync(stat, "utf8"))?.[1] ?? 0) / 1e6;
    }
    // /proc/stat's first line, in clock ticks (USER_HZ, 100 on Linux): user nice system idle iowait irq softirq steal
    const t = fs.readFileSync("/proc/stat", "utf8").split("\n")[0]!.trim().split(/\s+/).slice(1).map(Number);
    const machine = (t[0]! + t[1]! + t[2]! + t[5]! + t[6]! + t[7]!) / 100;
    return { hosts, machine };
}

/** Main's accounts by UID (the logins sampler sees `user-UID.slice`). */
async function mainAccounts(): Promise<Map<string, string>> {
    const out = new Map<string, string>();
    for (const line of (await hostExec("main", ["getent", "passwd"])).stdout.split("\n")) {
        const f = line.split(":");
        if (f.length > 2) out.set(f[2]!, f[0]!);
    }
    return out;
}

/** The sampler's `user-UID.slice KIND` keys as who (tunnel accounts together) and kind, per role. */
function labelLogins(raw: Record<string, Record<string, number>>, accounts: Map<string, string>): Record<string, number> {
    const out: Record<string, number> = {};
    for (const [role, cats] of Object.entries(raw)) {
        for (const [key, v] of Object.entries(cats)) {
            const [slice, ...kind] = key.split(" ");
            const uid = /^user-(\d+)\.slice$/.exec(slice!)?.[1] ?? "?";
            const name = role === "main" ? (accounts.get(uid) ?? `uid ${uid}`) : `uid ${uid}`;
            const who = /^tunnel-/.test(name) ? "tunnel accounts" : role === "main" ? `admin ${name}` : `admin uid ${uid}`;
            const k = `${role}: ${who}, ${kind.join(" ")}`;
            out[k] = (out[k] ?? 0) + v;
        }
    }
    return out;
}

const changed = (a: string[], b: string[]) => a.filter((p, k) => p !== b[k]).length;

async function main(): Promise<void> {
    const max = Math.max(...sizes);
    const t0lab = Date.now();
    // Fresh hosts: a failed earlier run leaves its stacks' entries on main, which the
    // ownership check rightly refuses to take over.
    execFileSync("npx", ["tsx", "lab/cli.ts", "down", "--purge"], { cwd: root, stdio: "inherit" });
    execFileSync("npx", ["tsx", "lab/cli.ts", "up", "--backups", String(max + 1), "--timeout", "600"], { cwd: root, stdio: "inherit" });
    const labUpMs = Date.now() - t0lab;
    const stopAgent = agent ? startAgent() : () => undefined;
    const started = new Date();
    const rows: Array<Record<string, number>> = [];
    const stateKinds: Array<{ n: number; kinds: Map<string, { bytes: number; stdin: number }> }> = [];
    const breakdowns: Array<{ n: number; hostCpu: Record<string, Record<string, number>>; loginSplit: Record<string, number>; programs: Record<string, { cpuS: number; count: number }> }> = [];
    // One stack per shard; several stacks on one main run their updates at the same time.
    const stacks = [];
    for (let i = 1; i <= shards; i++) {
        const st = await openStack(shards === 1 ? "bench-fleet" : `bench-fleet-s${i}`, config(i, i));
        await st.destroy({ continueOnError: true }).catch(() => undefined);
        stacks.push(st);
    }
    const timed = async (f: () => Promise<unknown>) => {
        const t0 = Date.now();
        await f();
        return Date.now() - t0;
    };
    for (const n of sizes) {
        const parts = split(n);
        const used = stacks.slice(0, parts.length);
        for (const [i, [a, b]] of parts.entries()) await setStackConfig(used[i]!, config(a, b));
        const cpu0 = cpuSeconds();
        const hostCpu0 = hostCpuNow();
        const logins = sampleLogins();
        const acct = startProcessAccounting();
        const upMs = await timed(() =>
            Promise.all(
                used.map(async (st) => {
                    if ((await st.up(engineOpts)).summary.result !== "succeeded") throw new Error(`up failed for N=${n}`);
                }),
            ),
        );
        const cpu1 = cpuSeconds();
        const hostCpu = diffCpu(hostCpu0, hostCpuNow());
        const programs = acct.stop();
        const loginSplit = labelLogins(logins.stop(), await mainAccounts());
        breakdowns.push({ n, hostCpu, loginSplit, programs });
        console.log(JSON.stringify({ n, hostCpu, loginSplit, programs }));
        const upCpuS = Math.round(cpu1.machine - cpu0.machine);
        const upHostsCpuS = Math.round(cpu1.hosts - cpu0.hosts);
        let stateBytes = 0;
        const deployments: unknown[] = [];
        for (const st of used) {
            const exported = await st.exportStack();
            stateBytes += JSON.stringify(exported).length;
            deployments.push(exported.deployment);
        }
        const stateKbPerBackup = Math.round(stateBytes / 1024 / n);
        stateKinds.push({ n, kinds: stateByKind(deployments, n) });
        await new Promise((r) => setTimeout(r, 3000));
        const pss = await sshdPssKb(loadLab().main, "tunnel-[a-z0-9-]+");
        const noopUpMs = await timed(() => Promise.all(used.map((st) => st.up(engineOpts))));
        // one more backup (in the last stack), then revoke it: the other n tunnels must not notice
        const last = used.at(-1)!;
        const [lastFrom] = parts.at(-1)!;
        const before = await tunnelPids(n);
        await setStackConfig(last, config(lastFrom, n + 1));
        const addOneMs = await timed(() => last.up(engineOpts));
        const afterAdd = await tunnelPids(n);
        await setStackConfig(last, config(lastFrom, n));
        const revokeOneMs = await timed(() => last.up(engineOpts));
        const afterRevoke = await tunnelPids(n);
        const destroyMs = await timed(() => Promise.all(used.map((st) => st.destroy(engineOpts))));
        rows.push({
            n,
            stacks: used.length,
            upMs,
            noopUpMs,
            addOneMs,
            revokeOneMs,
            destroyMs,
            othersRestartedOnAdd: changed(before, afterAdd),
            othersRestartedOnRevoke: changed(afterAdd, afterRevoke),
            tunnelsPssKb: pss,
            perTunnelPssKb: Math.round(pss / n),
            stateKbPerBackup,
            upCpuS,
            upHostsCpuS,
        });
        console.log(JSON.stringify(rows.at(-1)));
    }
    stopAgent();
    const s = (ms: number) => `${(ms / 1000).toFixed(1)} s`;
    const table = [
        `Fleet: N backups on one main (${started.toISOString()}, ${os.cpus().length} cores, real engine, parallel ${parallel ?? "default (4 x CPUs)"}, admin key ${agent ? "in an SSH agent" : "in the stack config"}, lab hosts; lab up with ${max + 1} backups: ${s(labUpMs)})`,
        "",
        "| backups | stacks | pulumi up (fresh) | no-op up | add 1 | revoke 1 | others restarted (add/revoke) | destroy | main: sshd PSS of all tunnels | per tunnel | state per backup | up: CPU s (lab hosts' share) |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|",
        ...rows.map(
            (r) =>
                `| ${r.n} | ${r.stacks} | ${s(r.upMs!)} | ${s(r.noopUpMs!)} | ${s(r.addOneMs!)} | ${s(r.revokeOneMs!)} | ${r.othersRestartedOnAdd}/${r.othersRestartedOnRevoke} | ${s(r.destroyMs!)} | ${r.tunnelsPssKb} kB | ${r.perTunnelPssKb} kB | ${r.stateKbPerBackup} kB | ${r.upCpuS} (${Math.round((100 * r.upHostsCpuS!) / Math.max(1, r.upCpuS!))}%) |`,
        ),
    ];
    const cats = [...new Set(breakdowns.flatMap((b) => [...Object.keys(b.hostCpu.main ?? {}), ...Object.keys(b.hostCpu.backups ?? {})]))].sort();
    const whoWhat = [...new Set(breakdowns.flatMap((b) => Object.keys(b.loginSplit)))].sort();
    const per = (v: number | undefined, n: number) => `${(v ?? 0).toFixed(1)} (${((v ?? 0) / n).toFixed(2)})`;
    table.push(
        "",
        "Where the lab hosts' CPU went during the fresh up: CPU seconds on main and on all backups (per backup in brackets), by cgroup (exact):",
        "",
        `| backups | ${cats.map((c) => `main: ${c}`).join(" | ")} | ${cats.map((c) => `backups: ${c}`).join(" | ")} |`,
        `|---|${cats.map(() => "---").join("|")}|${cats.map(() => "---").join("|")}|`,
        ...breakdowns.map((b) => `| ${b.n} | ${cats.map((c) => per(b.hostCpu.main?.[c], b.n)).join(" | ")} | ${cats.map((c) => per(b.hostCpu.backups?.[c], b.n)).join(" | ")} |`),
    );
    // Hosts whose logins get no user.slice scope (the lab's: no pam_systemd) leave the
    // sampler nothing to split; say so instead of printing an empty table.
    if (whoWhat.length > 0) {
        table.push(
            "",
            "Logins split by who and what (sampled every 0.5 s, approximate), CPU seconds (per backup):",
            "",
            `| backups | ${whoWhat.join(" | ")} |`,
            `|---|${whoWhat.map(() => "---").join("|")}|`,
            ...breakdowns.map((b) => `| ${b.n} | ${whoWhat.map((k) => per(b.loginSplit[k], b.n)).join(" | ")} |`),
        );
    } else {
        table.push("", "Logins split: none sampled (the hosts' logins run in sshd's own cgroup, counted as sshd above).");
    }
    const kinds = [...new Set(stateKinds.flatMap((k) => [...k.kinds.keys()]))].sort((a, b) => (stateKinds.at(-1)!.kinds.get(b)?.bytes ?? 0) - (stateKinds.at(-1)!.kinds.get(a)?.bytes ?? 0));
    const kb = (v: number | undefined) => (v === undefined ? "-" : (v / 1024).toFixed(1));
    table.push(
        "",
        "Where a backup's state goes: kB per backup by resource (the stack's shared resources divided by its backups), and of that the command's stdin (stored twice: input and output):",
        "",
        `| resource | ${stateKinds.map((k) => `${k.n}: kB (stdin)`).join(" | ")} |`,
        `|---|${stateKinds.map(() => "---").join("|")}|`,
        ...kinds.map((kind) => `| ${kind} | ${stateKinds.map((k) => `${kb(k.kinds.get(kind)?.bytes)} (${kb(k.kinds.get(kind)?.stdin)})`).join(" | ")} |`),
    );
    for (const b of breakdowns) {
        // The programs with the most CPU and those started most often: process accounting
        // truncates each process's CPU to whole 10 ms ticks, so a program of many short
        // processes shows little CPU though its processes (exact) cost the most.
        const byCpu = Object.entries(b.programs).sort((x, y) => y[1].cpuS - x[1].cpuS);
        const byCount = Object.entries(b.programs).sort((x, y) => y[1].count - x[1].count);
        const names = new Set([...byCpu.slice(0, 12), ...byCount.slice(0, 12)].map(([name]) => name));
        const top = byCpu.filter(([name]) => names.has(name));
        const processes = Object.values(b.programs).reduce((sum, v) => sum + v.count, 0);
        table.push(
            "",
            `Exited processes by program during the fresh up of ${b.n} (process accounting; the engine's own programs included; ${processes} processes, ${(processes / b.n).toFixed(0)} per backup). CPU is a lower bound: accounting truncates each process's CPU to whole 10 ms ticks, and most of the hosts' processes take less (the cgroup figures above are exact); the process counts are exact.`,
            "",
            "| program | CPU s (lower bound) | processes | processes per backup |",
            "|---|---|---|---|",
            ...top.map(([name, v]) => `| ${name} | ${v.cpuS.toFixed(1)} | ${v.count} | ${(v.count / b.n).toFixed(1)} |`),
        );
    }
    console.log(`\n${table.join("\n")}`);
    const dir = path.join(root, ".state", "bench");
    fs.mkdirSync(dir, { recursive: true });
    const file = path.join(dir, `fleet-${started.toISOString().replace(/[:.]/g, "-")}.json`);
    fs.writeFileSync(file, JSON.stringify({ started, labUpMs, parallel, shards, rows, breakdowns, table }, null, 2));
    console.log(`wrote ${file}`);
}

main().catch((e) => {
    console.error(e);
    process.exit(1);
});
