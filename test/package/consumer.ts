/**
 * Builds a consumer of the package the way a user does: `npm pack` in the repo, a
 * copy of examples/consumer-ts in a fresh temp directory, `npm install <tarball>`.
 * Nothing from the repo's own node_modules or tsconfig leaks into the consumer.
 */
import { execFile } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";

/** Repository root. */
export const ROOT = path.resolve(__dirname, "../..");
/** The example consumer project that is copied. */
export const EXAMPLE = path.join(ROOT, "examples", "consumer-ts");
/** The example that builds one tunnel from its two halves. */
export const EXAMPLE_HALVES = path.join(ROOT, "examples", "consumer-halves-ts");

/** What `npm pack --json` reports about the tarball. */
export interface Packed {
    /** Absolute path of the tarball. */
    tarball: string;
    /** Compressed size in bytes. */
    size: number;
    /** Unpacked size in bytes. */
    unpackedSize: number;
    /** Paths inside the package, sorted. */
    files: string[];
}

/**
 * The environment of every consumer command: the caller's, minus the switches that
 * made raw .ts sources load before the package was compiled, so a pass proves the
 * package needs none of them.
 */
export function consumerEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
    const env: NodeJS.ProcessEnv = { ...process.env, ...extra };
    for (const k of Object.keys(env)) {
        if (/^(TS_NODE_|PULUMI_NODEJS_)/.test(k) || k === "NODE_OPTIONS") delete env[k];
    }
    return env;
}

/**
 * Runs a command, resolving to its stdout; on failure the error carries stdout and
 * stderr. Asynchronous, so the test worker stays responsive during long installs.
 */
export function run(cmd: string, args: string[], cwd: string, extraEnv: Record<string, string> = {}, timeoutMs = 300_000): Promise<string> {
    return new Promise((resolve, reject) => {
        execFile(cmd, args, { cwd, env: consumerEnv(extraEnv), encoding: "utf8", timeout: timeoutMs, maxBuffer: 64 << 20 }, (err, stdout, stderr) => {
            if (err) reject(new Error(`${cmd} ${args.join(" ")} (in ${cwd}) failed: ${err.message}\n--- stdout\n${stdout}\n--- stderr\n${stderr}`));
            else resolve(stdout);
        });
    });
}

/** Packs the repo (prepack compiles dist/) into `dest`. */
export async function pack(dest: string): Promise<Packed> {
    fs.mkdirSync(dest, { recursive: true });
    const out = await run("npm", ["pack", "--json", "--pack-destination", dest], ROOT);
    const j = (JSON.parse(out.slice(out.indexOf("["))) as { filename: string; size: number; unpackedSize: number; files: { path: string }[] }[])[0]!;
    return { tarball: path.join(dest, j.filename), size: j.size, unpackedSize: j.unpackedSize, files: j.files.map((f) => f.path).sort() };
}

/**
 * The provider SDKs this repository tests with, as `name@version` specs: the versions
 * its package-lock resolves the package's ranges to, which are the versions of the
 * provider plugins the offline toolchain serves (toolchain/versions.env). A consumer
 * run under that toolchain installs these; the range alone would take the newest.
 */
export function testedProviderSdks(): string[] {
    const lock = JSON.parse(fs.readFileSync(path.join(ROOT, "package-lock.json"), "utf8")) as { packages: Record<string, { version: string }> };
    return ["@pulumi/command", "@pulumi/tls"].map((n) => `${n}@${lock.packages[`node_modules/${n}`]!.version}`);
}

/**
 * Copies an example consumer (default examples/consumer-ts) into `dir` and installs
 * the tarball into it, with `@pulumi/pulumi` at `sdkVersion` (default: the example's
 * own pin) and `extraPackages` (npm specs) as the consumer's own dependencies.
 */
export async function installConsumer(dir: string, tarball: string, sdkVersion?: string, example: string = EXAMPLE, extraPackages: readonly string[] = []): Promise<string> {
    fs.mkdirSync(dir, { recursive: true });
    for (const f of fs.readdirSync(example)) {
        if (f === "node_modules" || f === "bin" || (f.startsWith("Pulumi.") && f !== "Pulumi.yaml")) continue;
        fs.cpSync(path.join(example, f), path.join(dir, f), { recursive: true });
    }
    const pkgs = [tarball, ...(sdkVersion !== undefined ? [`@pulumi/pulumi@${sdkVersion}`] : []), ...extraPackages];
    await run("npm", ["install", "--no-audit", "--no-fund", "--loglevel=error", ...pkgs], dir);
    return dir;
}

/** A fresh temp directory, removed by the returned function. */
export function tempDir(prefix: string): { dir: string; remove: () => void } {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
    return { dir, remove: () => fs.rmSync(dir, { recursive: true, force: true }) };
}
