/**
 * Fleet benchmark under the real engine, N backups on one main: `pulumi up`
 * (fresh stack), a no-op `up`, adding one backup to N, revoking it again,
 * `destroy`, and main's sshd memory per tunnel. For add and revoke it also
 * counts the other N tunnels whose ssh client process changed (goal: none).
 *
 *   npm run bench:fleet -- [--sizes 1,20,50,100] [--parallel P]
 *
 * `--parallel` is the engine's `--parallel` (default: Pulumi's, 4 x CPUs). It also
 * reports the state's size per backup: the engine rewrites the whole state after
 * every step, so its size drives the cost of a large up.
 *
 * Boots the lab with max(sizes)+1 backups (the lab raises the kernel's inotify
 * and keyring limits it needs). Prints a table and writes
 * .state/bench/fleet-<timestamp>.json.
 */
import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { hostExec, loadLab } from "../lab/client";
import { sshdPssKb } from "../test/support/hosts";
import { openStack, setStackConfig } from "../test/support/engine";

const args = process.argv.slice(2);
const i = args.indexOf("--sizes");
const sizes = (i >= 0 ? args[i + 1]! : "1,20,50,100").split(",").map(Number);
const p = args.indexOf("--parallel");
const parallel = p >= 0 ? Number(args[p + 1]) : undefined;
const engineOpts = parallel !== undefined ? { parallel } : {};
const root = path.resolve(__dirname, "..");

const backups = (n: number) => Array.from({ length: n }, (_, k) => ({ name: `f${k + 1}`, lab: `backup${k + 1}`, tunnelPort: 2401 + k }));
const config = (n: number) => ({ lab: ".state/lab/lab.json", main: { lab: "main" }, backups: backups(n) });

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

const changed = (a: string[], b: string[]) => a.filter((p, k) => p !== b[k]).length;

async function main(): Promise<void> {
    const max = Math.max(...sizes);
    const t0lab = Date.now();
    execFileSync("npx", ["tsx", "lab/cli.ts", "up", "--backups", String(max + 1), "--timeout", "600"], { cwd: root, stdio: "inherit" });
    const labUpMs = Date.now() - t0lab;
    const started = new Date();
    const rows: Array<Record<string, number>> = [];
    const stack = await openStack("bench-fleet", config(1));
    await stack.destroy({ continueOnError: true }).catch(() => undefined);
    for (const n of sizes) {
        await setStackConfig(stack, config(n));
        let t0 = Date.now();
        const up = await stack.up(engineOpts);
        const upMs = Date.now() - t0;
        const stateKbPerBackup = Math.round(JSON.stringify(await stack.exportStack()).length / 1024 / n);
        if (up.summary.result !== "succeeded") throw new Error(`up failed for N=${n}`);
        await new Promise((r) => setTimeout(r, 3000));
        const pss = await sshdPssKb(loadLab().main, "tunnel-[a-z0-9-]+");
        t0 = Date.now();
        await stack.up(engineOpts);
        const noopUpMs = Date.now() - t0;
        // one more backup, then revoke it: the other n tunnels must not notice
        const before = await tunnelPids(n);
        await setStackConfig(stack, config(n + 1));
        t0 = Date.now();
        await stack.up(engineOpts);
        const addOneMs = Date.now() - t0;
        const afterAdd = await tunnelPids(n);
        await setStackConfig(stack, config(n));
        t0 = Date.now();
        await stack.up(engineOpts);
        const revokeOneMs = Date.now() - t0;
        const afterRevoke = await tunnelPids(n);
        t0 = Date.now();
        await stack.destroy(engineOpts);
        const destroyMs = Date.now() - t0;
        rows.push({
            n,
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
        });
        console.log(JSON.stringify(rows.at(-1)));
    }
    const s = (ms: number) => `${(ms / 1000).toFixed(1)} s`;
    const table = [
        `Fleet: N backups on one main (${started.toISOString()}, ${os.cpus().length} cores, real engine, parallel ${parallel ?? "default (4 x CPUs)"}, lab hosts; lab up with ${max + 1} backups: ${s(labUpMs)})`,
        "",
        "| backups | pulumi up (fresh) | no-op up | add 1 | revoke 1 | others restarted (add/revoke) | destroy | main: sshd PSS of all tunnels | per tunnel | state per backup |",
        "|---|---|---|---|---|---|---|---|---|---|",
        ...rows.map(
            (r) =>
                `| ${r.n} | ${s(r.upMs!)} | ${s(r.noopUpMs!)} | ${s(r.addOneMs!)} | ${s(r.revokeOneMs!)} | ${r.othersRestartedOnAdd}/${r.othersRestartedOnRevoke} | ${s(r.destroyMs!)} | ${r.tunnelsPssKb} kB | ${r.perTunnelPssKb} kB | ${r.stateKbPerBackup} kB |`,
        ),
    ];
    console.log(`\n${table.join("\n")}`);
    const dir = path.join(root, ".state", "bench");
    fs.mkdirSync(dir, { recursive: true });
    const file = path.join(dir, `fleet-${started.toISOString().replace(/[:.]/g, "-")}.json`);
    fs.writeFileSync(file, JSON.stringify({ started, labUpMs, parallel, rows, table }, null, 2));
    console.log(`wrote ${file}`);
}

main().catch((e) => {
    console.error(e);
    process.exit(1);
});
