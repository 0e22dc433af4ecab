/**
 * A program error fails `pulumi preview` at once under the project's toolchain, as it
 * does under the CLI users install (issue 21, point 2). Before the fix, an error inside
 * an Output (a rejected apply, a missing StackReference output) left the upstream 3.68
 * Node host's `Run` waiting for a Node process that never exits, and the CLI printed
 * "previewing update..." until killed.
 *
 * Each test writes a tiny TypeScript project in a temp dir (this repo's node_modules,
 * a file backend in a 0700 temp dir) and runs the real CLI from the offline toolchain
 * (`pulumi preview`, with the shim `pulumi-language-nodejs` in front of the upstream
 * host) as a user would. It asserts: non-zero exit, the error text naming the setting,
 * and under 30 s. A hang is cut at 90 s (the whole process group) and fails the test.
 */
import { spawn } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { engineEnv, ROOT } from "../support/engine";
import { SAMPLE_KEY } from "../support/fixtures";

/** Users' CLI fails these programs in a few seconds; ours must too. */
const LIMIT_MS = 30_000;
/** A preview still running after this is a hang: killed, reported, failed. */
const CUT_MS = 90_000;
const PROJECT = "rst-program-errors";

let tmp: string;
let env: Record<string, string>;
/** Measured preview times, written to .state/reports/program-errors.json. */
const figures: Record<string, number> = {};

interface Run {
    code: number | null;
    output: string;
    ms: number;
    hung: boolean;
}

/** Process ids of `pid`'s descendants (from /proc), children first. */
function descendants(pid: number): number[] {
    const children = new Map<number, number[]>();
    for (const d of fs.readdirSync("/proc")) {
        if (!/^\d+$/.test(d)) continue;
        try {
            // "pid (comm) state ppid ...": comm may hold spaces, so read after the last ')'.
            const stat = fs.readFileSync(`/proc/${d}/stat`, "utf8");
            const ppid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
            children.set(ppid, [...(children.get(ppid) ?? []), Number(d)]);
        } catch {
            /* gone */
        }
    }
    const out: number[] = [];
    const walk = (p: number) => {
        for (const c of children.get(p) ?? []) {
            out.push(c);
            walk(c);
        }
    };
    walk(pid);
    return out;
}

/** Runs the toolchain's `pulumi` with `args` in `cwd`; kills it and its descendants at CUT_MS. */
function pulumi(args: string[], cwd: string): Promise<Run> {
    return new Promise((resolve, reject) => {
        const start = Date.now();
        // Own process group, so a hang's node and host processes go with the CLI.
        const child = spawn("pulumi", args, { cwd, env, detached: true, stdio: ["ignore", "pipe", "pipe"] });
        let output = "";
        child.stdout.on("data", (b: Buffer) => (output += b.toString()));
        child.stderr.on("data", (b: Buffer) => (output += b.toString()));
        let hung = false;
        const timer = setTimeout(() => {
            hung = true;
            // The engine may put plugins (the language host, node) in groups of their own.
            for (const p of [child.pid!, ...descendants(child.pid!)]) {
                try {
                    process.kill(p, "SIGKILL");
                } catch {
                    /* already gone */
                }
            }
        }, CUT_MS);
        child.on("error", reject);
        child.on("close", (code) => {
            clearTimeout(timer);
            // Whatever the program left behind in the group (there should be nothing).
            try {
                process.kill(-child.pid!, "SIGKILL");
            } catch {
                /* already gone */
            }
            resolve({ code, output, ms: Date.now() - start, hung });
        });
    });
}

/** A project directory with `index.ts` = `program`, using this repo's node_modules. */
function project(name: string, program: string): string {
    const dir = path.join(tmp, name);
    fs.mkdirSync(dir);
    fs.writeFileSync(path.join(dir, "Pulumi.yaml"), `name: ${PROJECT}\nruntime: nodejs\n`);
    fs.writeFileSync(path.join(dir, "package.json"), `${JSON.stringify({ name: `${PROJECT}-${name}`, private: true, main: "index.ts" })}\n`);
    fs.writeFileSync(
        path.join(dir, "tsconfig.json"),
        `${JSON.stringify({ compilerOptions: { strict: true, target: "es2020", module: "commonjs", moduleResolution: "node", esModuleInterop: true, skipLibCheck: true } })}\n`,
    );
    fs.symlinkSync(path.join(ROOT, "node_modules"), path.join(dir, "node_modules"));
    fs.writeFileSync(path.join(dir, "index.ts"), program);
    return dir;
}

/** `pulumi preview` of a fresh stack `stack` of the project in `dir`. */
async function preview(dir: string, stack: string): Promise<Run> {
    const init = await pulumi(["stack", "init", stack, "--non-interactive"], dir);
    expect(init.code, init.output).toBe(0);
    const r = await pulumi(["preview", "--stack", stack, "--non-interactive", "--color", "never"], dir);
    figures[stack] = r.ms;
    return r;
}

function expectFastFailure(r: Run, text: RegExp): void {
    const summary = `exit ${r.code} after ${r.ms} ms${r.hung ? " (hung: killed)" : ""}\n${r.output}`;
    expect(r.hung, summary).toBe(false);
    expect(r.code, summary).not.toBe(0);
    expect(r.output, summary).toMatch(text);
    expect(r.ms, summary).toBeLessThan(LIMIT_MS);
}

beforeAll(async () => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), "rst-program-errors-"));
    fs.chmodSync(tmp, 0o700);
    const state = path.join(tmp, "state");
    fs.mkdirSync(state, { mode: 0o700 });
    // The offline toolchain (the shim and the upstream 3.68 host are what is under test).
    process.env.RST_TOOLCHAIN_OFFLINE = "1";
    env = {
        ...(process.env as Record<string, string>),
        ...engineEnv(),
        PULUMI_BACKEND_URL: `file://${state}`,
        PULUMI_CONFIG_PASSPHRASE: "program-errors",
        // Programs are tiny; the library sources would take most of the budget to type-check.
        PULUMI_NODEJS_TRANSPILE_ONLY: "true",
    };
    for (const k of Object.keys(env)) if (/^(TS_NODE_|PULUMI_NODEJS_TSCONFIG)/.test(k) || k === "NODE_OPTIONS") delete env[k];
    // The stack the StackReferences read: it exists, and has no outputs.
    const source = project("source", "export {};\n");
    const init = await pulumi(["stack", "init", "source", "--non-interactive"], source);
    expect(init.code, init.output).toBe(0);
});

afterAll(() => {
    const dir = path.join(ROOT, ".state", "reports");
    fs.mkdirSync(dir, { recursive: true });
    fs.writeFileSync(path.join(dir, "program-errors.json"), `${JSON.stringify(figures, null, 2)}\n`);
    if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
});

const SOURCE = `organization/${PROJECT}/source`;

describe.sequential("a program error fails pulumi preview within 30 s", () => {
    it("requireOutput of an output the referenced stack does not have", async () => {
        const dir = project(
            "stackref",
            `import * as pulumi from "@pulumi/pulumi";
const ref = new pulumi.StackReference(${JSON.stringify(SOURCE)});
export const mainHost = ref.requireOutput("mainHost");
`,
        );
        const r = await preview(dir, "stackref");
        expectFastFailure(r, /Required output 'mainHost' does not exist on stack 'organization\/rst-program-errors\/source'/);
    });

    it("a tls.PrivateKey whose input is an Output that throws", async () => {
        const dir = project(
            "tls",
            `import * as pulumi from "@pulumi/pulumi";
import * as tls from "@pulumi/tls";
const algorithm = pulumi.output("ED25519").apply((a): string => { throw new Error("keyAlgorithm: unsupported " + a + " (from the Output)"); });
new tls.PrivateKey("key", { algorithm });
`,
        );
        const r = await preview(dir, "tls");
        expectFastFailure(r, /keyAlgorithm: unsupported ED25519 \(from the Output\)/);
    });

    it("the library given an Output host with a space", async () => {
        const dir = project(
            "tunnel-host",
            `import * as pulumi from "@pulumi/pulumi";
import { ReverseTunnel } from ${JSON.stringify(path.join(ROOT, "components"))};
new ReverseTunnel("nas", {
    main: { host: pulumi.output("bad host"), user: "admin", hostKey: ${JSON.stringify(SAMPLE_KEY)} },
    backup: { host: "192.168.1.20", user: "pi", hostKey: ${JSON.stringify(SAMPLE_KEY)} },
    port: 2222,
});
`,
        );
        const r = await preview(dir, "tunnel-host");
        expectFastFailure(r, /main(\.connection)?\.host: invalid host "bad host"/);
    });

    it("the library given a missing required StackReference output as the host", async () => {
        const dir = project(
            "tunnel-stackref",
            `import * as pulumi from "@pulumi/pulumi";
import { ReverseTunnel } from ${JSON.stringify(path.join(ROOT, "components"))};
const ref = new pulumi.StackReference(${JSON.stringify(SOURCE)});
new ReverseTunnel("nas", {
    main: { host: ref.requireOutput("mainHost").apply(String), user: "admin", hostKey: ${JSON.stringify(SAMPLE_KEY)} },
    backup: { host: "192.168.1.20", user: "pi", hostKey: ${JSON.stringify(SAMPLE_KEY)} },
    port: 2222,
});
`,
        );
        const r = await preview(dir, "tunnel-stackref");
        expectFastFailure(r, /Required output 'mainHost' does not exist on stack 'organization\/rst-program-errors\/source'/);
    });
});
