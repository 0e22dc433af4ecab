/**
 * Runs the stack program under the real Pulumi engine (Automation API over the CLI
 * built by toolchain/setup.sh), offline: file:// backend under .state/pulumi,
 * passphrase secrets, no update checks or plugin downloads.
 */
import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { LocalWorkspace, Stack } from "@pulumi/pulumi/automation";
import * as pulumi from "@pulumi/pulumi";
import type { LabDescription, LabHost } from "../../lab/client";
import { toolchainVersions } from "./toolchain-versions";

/** Project root. */
export const ROOT = path.resolve(__dirname, "../..");

/** Passphrase of lab stacks (they hold only lab keys). */
export const LAB_PASSPHRASE = "reverse-ssh-tunnel-lab";

/** Environment for the engine: toolchain PATH plus offline settings. */
export function engineEnv(): Record<string, string> {
    // The lab's engine tests always use the offline toolchain (no plugin downloads).
    const out = execFileSync("bash", ["-c", ". toolchain/env.sh >/dev/null && env -0"], { cwd: ROOT, encoding: "utf8", env: { ...process.env, RST_TOOLCHAIN_OFFLINE: "1" } });
    const env: Record<string, string> = {};
    for (const kv of out.split("\0")) {
        const i = kv.indexOf("=");
        if (i > 0 && /^(PATH|PULUMI_\w+)$/.test(kv.slice(0, i))) env[kv.slice(0, i)] = kv.slice(i + 1);
    }
    const backend = path.join(ROOT, ".state", "pulumi");
    // The state holds tunnel keys: root-only, like scripts/stack-env.sh makes it.
    fs.mkdirSync(backend, { recursive: true, mode: 0o700 });
    fs.chmodSync(backend, 0o700);
    return {
        ...env,
        PULUMI_BACKEND_URL: `file://${backend}`,
        PULUMI_CONFIG_PASSPHRASE: LAB_PASSPHRASE,
        PULUMI_SKIP_UPDATE_CHECK: "true",
        PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION: "true",
        PULUMI_AUTOMATION_API_SKIP_VERSION_CHECK: "true",
    };
}

/** Which CLI the engine tests run: the newest (default) or the lowest the library claims. */
export type CliEnd = "newest" | "lowest";

/** The CLI end this test file runs on (RST_PULUMI_CLI=lowest: the lowest; see toolchain/env.sh). */
export function cliEnd(): CliEnd {
    return process.env.RST_PULUMI_CLI === "lowest" ? "lowest" : "newest";
}

/**
 * The version the engine's `pulumi` reports, and the one toolchain/versions.env names for
 * this end (PULUMI_VERSION, or PULUMI_MIN_VERSION for the lowest), so that a test can show
 * which CLI it ran on.
 */
export function cliVersions(): { have: string; want: string } {
    const env = engineEnv();
    const have = execFileSync("pulumi", ["version"], { encoding: "utf8", env: { ...process.env, ...env } }).trim().replace(/^v/, "");
    const want = toolchainVersions()[cliEnd() === "lowest" ? "PULUMI_MIN_VERSION" : "PULUMI_VERSION"] ?? "?";
    return { have, want };
}

/**
 * Opens stack `name` of this project with `config` (project namespace, plain values),
 * run by the stack program, or by the program of the same project name in `workDir`.
 * A stack left by an earlier run is removed first: its state would describe hosts
 * that a fresh lab no longer has.
 */
export async function openStack(name: string, config: Record<string, unknown>, workDir = ROOT): Promise<Stack> {
    const envVars = engineEnv();
    // The CLI is found on PATH by the Automation API in this process too.
    process.env.PATH = envVars.PATH;
    const old = await LocalWorkspace.createOrSelectStack({ stackName: name, workDir }, { envVars });
    await old.workspace.removeStack(name, { force: true });
    const stack = await LocalWorkspace.createStack({ stackName: name, workDir }, { envVars });
    await setStackConfig(stack, config);
    return stack;
}

/** Replaces the stack's configuration (keeps its encryption salt). */
export async function setStackConfig(stack: Stack, config: Record<string, unknown>): Promise<void> {
    const ws = stack.workspace;
    const settings = await ws.stackSettings(stack.name);
    settings.config = Object.fromEntries(Object.entries(config).map(([k, v]) => [`reverse-ssh-tunnel:${k}`, v]));
    await ws.saveStackSettings(stack.name, settings);
}

/** Counts of an update's resource changes other than "same". */
export function changes(summary: Record<string, number> | undefined): Record<string, number> {
    return Object.fromEntries(Object.entries(summary ?? {}).filter(([k, v]) => k !== "same" && v > 0));
}

/**
 * Opens a fresh stack of a consumer project in `dir` (an example outside this project)
 * wired to the lab: main and `backup` as that project's config keys (admin keys as
 * secrets), the tunnel on main's loopback `port`. A stack left by an earlier run is
 * removed first.
 */
export async function openLabConsumerStack(dir: string, stackName: string, lab: LabDescription, backup: string, port: number): Promise<Stack> {
    const envVars = engineEnv();
    process.env.PATH = envVars.PATH;
    const old = await LocalWorkspace.createOrSelectStack({ stackName, workDir: dir }, { envVars });
    await old.workspace.removeStack(stackName, { force: true });
    const stack = await LocalWorkspace.createStack({ stackName, workDir: dir }, { envVars });
    const main = lab.hosts[lab.main]!;
    const b = lab.hosts[backup]!;
    await stack.setAllConfig({
        mainHost: { value: main.addresses.operator },
        mainPublicHost: { value: main.addresses.public! },
        mainUser: { value: main.adminUser },
        mainHostKey: { value: main.hostKeys.ed25519 },
        mainPrivateKey: { value: fs.readFileSync(main.adminKeyPath, "utf8"), secret: true },
        backupHost: { value: b.addresses.operator },
        backupUser: { value: b.adminUser },
        backupHostKey: { value: b.hostKeys.ed25519 },
        backupPrivateKey: { value: fs.readFileSync(b.adminKeyPath, "utf8"), secret: true },
        loginUser: { value: lab.mainAdminKey.backupUser },
        port: { value: String(port) },
    });
    return stack;
}

/** How Pulumi reaches a lab host: its operator address as admin, host key pinned. */
export function connectionOf(h: LabHost) {
    return {
        host: h.addresses.operator,
        ...(h.sshPort !== 22 ? { port: h.sshPort } : {}),
        user: h.adminUser,
        privateKey: pulumi.secret(fs.readFileSync(h.adminKeyPath, "utf8")),
        hostKey: h.hostKeys.ed25519,
    };
}
