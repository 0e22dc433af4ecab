/**
 * Fleet benchmark under the real engine: `pulumi up` time (fresh stack), a no-op
 * `up`, `destroy`, and main's memory for N backups on one main.
 *
 *   npm run bench:fleet -- [--sizes 1,5,20]
 *
 * Prints a table and writes .state/bench/fleet-<timestamp>.json.
 */
import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { loadLab } from "../lab/client";
import { sshdPssKb } from "../test/support/hosts";
import { openStack, setStackConfig } from "../test/support/engine";

const args = process.argv.slice(2);
const i = args.indexOf("--sizes");
const sizes = (i >= 0 ? args[i + 1]! : "1,5,20").split(",").map(Number);
const root = path.resolve(__dirname, "..");

async function main(): Promise<void> {
    const max = Math.max(...sizes);
    execFileSync("npx", ["tsx", "lab/cli.ts", "up", "--backups", String(max)], { cwd: root, stdio: "inherit" });
    const started = new Date();
    const rows: Array<Record<string, number>> = [];
    const backups = (n: number) => Array.from({ length: n }, (_, k) => ({ name: `f${k + 1}`, lab: `backup${k + 1}`, tunnelPort: 2401 + k }));
    const stack = await openStack("bench-fleet", { lab: ".state/lab/lab.json", main: { lab: "main" }, backups: backups(1) });
    await stack.destroy({ continueOnError: true }).catch(() => undefined);
    for (const n of sizes) {
        await setStackConfig(stack, { lab: ".state/lab/lab.json", main: { lab: "main" }, backups: backups(n) });
        let t0 = Date.now();
        const up = await stack.up();
        const upMs = Date.now() - t0;
        if (up.summary.result !== "succeeded") throw new Error(`up failed for N=${n}`);
        await new Promise((r) => setTimeout(r, 3000));
        const pss = await sshdPssKb(loadLab().main, "tunnel-[a-z0-9-]+");
        t0 = Date.now();
        await stack.up();
        const noopUpMs = Date.now() - t0;
        t0 = Date.now();
        await stack.destroy();
        const destroyMs = Date.now() - t0;
        rows.push({ n, upMs, noopUpMs, destroyMs, tunnelsPssKb: pss, perTunnelPssKb: Math.round(pss / n) });
        console.log(JSON.stringify(rows.at(-1)));
    }
    const table = [
        `Fleet: pulumi up on one main (${started.toISOString()}, ${os.cpus().length} cores, real engine, lab hosts)`,
        "",
        "| backups | pulumi up (fresh) | no-op up | destroy | main: sshd PSS of all tunnels | per tunnel |",
        "|---|---|---|---|---|---|",
        ...rows.map((r) => `| ${r.n} | ${(r.upMs! / 1000).toFixed(1)} s | ${(r.noopUpMs! / 1000).toFixed(1)} s | ${(r.destroyMs! / 1000).toFixed(1)} s | ${r.tunnelsPssKb} kB | ${r.perTunnelPssKb} kB |`),
    ];
    console.log(`\n${table.join("\n")}`);
    const dir = path.join(root, ".state", "bench");
    fs.mkdirSync(dir, { recursive: true });
    const file = path.join(dir, `fleet-${started.toISOString().replace(/[:.]/g, "-")}.json`);
    fs.writeFileSync(file, JSON.stringify({ started, rows, table }, null, 2));
    console.log(`wrote ${file}`);
}

main().catch((e) => {
    console.error(e);
    process.exit(1);
});
