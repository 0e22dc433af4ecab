/**
 * Boots the lab (main, a NAT router, ten backups sharing one base rootfs) once for the lab project and tears
 * it down afterwards. A lab that cannot start is a failure, never a skip.
 * RST_LAB_KEEP=1 leaves it running for debugging.
 */
import { execFileSync } from "node:child_process";
import * as path from "node:path";

const root = path.resolve(__dirname, "../..");
const cli = (...args: string[]) => execFileSync("npx", ["tsx", "lab/cli.ts", ...args], { cwd: root, stdio: "inherit", timeout: 1_200_000 });

export function setup(): void {
    // Fresh hosts every run: nothing left over from a benchmark or an earlier run.
    cli("down", "--purge");
    cli("up", "--backups", "10");
}

export function teardown(): void {
    if (process.env.RST_LAB_KEEP !== "1") cli("down");
}
