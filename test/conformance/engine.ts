/**
 * Drives the command provider the way users' programs do: an inline Pulumi
 * program under the Automation API, run by the real engine (the CLI built by
 * toolchain/setup.sh) with a file backend in a 0700 temp dir. The engine starts
 * the installed `command` plugin and talks gRPC to it; the test reads what the
 * user would see from the engine's event stream.
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import type { DiagnosticEvent, EngineEvent } from "@pulumi/pulumi/automation";
import { LocalWorkspace } from "@pulumi/pulumi/automation";
import { engineEnv } from "../support/engine";

/** What one resource of an update did. */
export interface ResourceReport {
    /** Diagnostics the engine reported for this resource, in order. */
    diags: DiagnosticEvent[];
    /** The resource's error text (the error diagnostics joined), "" if it succeeded. */
    error: string;
    /** Outputs when it was created. */
    outputs?: Record<string, unknown>;
    /** ms from the resource's pre-event to its outcome (as seen on the event stream). */
    ms: number;
}

/**
 * Runs `pulumi up` of `program` (which must create command resources named
 * after the keys the caller looks up) in a fresh stack, then destroys it.
 * Returns a report per resource name; `env` goes to the engine and so to the
 * provider process (e.g. SSH_AUTH_SOCK).
 */
export async function upReport(stackName: string, program: () => void, env: Record<string, string> = {}): Promise<Map<string, ResourceReport>> {
    const stateDir = fs.mkdtempSync(path.join(os.tmpdir(), "rst-conformance-state-"));
    fs.chmodSync(stateDir, 0o700);
    // The project's offline build (its command provider is what is under test),
    // even where an installed CLI would otherwise be preferred.
    process.env.RST_TOOLCHAIN_OFFLINE = "1";
    const base = engineEnv();
    process.env.PATH = base.PATH;
    const envVars: Record<string, string> = {
        ...base,
        PULUMI_BACKEND_URL: `file://${stateDir}`,
        PULUMI_CONFIG_PASSPHRASE: "conformance",
        ...env,
    };
    // The provider must see SSH_AUTH_SOCK only when a test sets it.
    if (!("SSH_AUTH_SOCK" in env)) envVars.SSH_AUTH_SOCK = "";
    const reports = new Map<string, ResourceReport>();
    const started = new Map<string, number>();
    const nameOf = (urn: string) => urn.split("::").pop() ?? urn;
    const get = (urn: string) => {
        const n = nameOf(urn);
        let r = reports.get(n);
        if (!r) reports.set(n, (r = { diags: [], error: "", ms: 0 }));
        return r;
    };
    const onEvent = (e: EngineEvent) => {
        const now = Date.now();
        if (e.resourcePreEvent) started.set(nameOf(e.resourcePreEvent.metadata.urn), now);
        if (e.diagnosticEvent?.urn) {
            const r = get(e.diagnosticEvent.urn);
            r.diags.push(e.diagnosticEvent);
            if (e.diagnosticEvent.severity === "error") {
                r.error += e.diagnosticEvent.message;
                r.ms = now - (started.get(nameOf(e.diagnosticEvent.urn)) ?? now);
            }
        }
        if (e.resOutputsEvent) {
            const m = e.resOutputsEvent.metadata;
            const r = get(m.urn);
            r.outputs = m.new?.outputs;
            r.ms = now - (started.get(nameOf(m.urn)) ?? now);
        }
    };
    const stack = await LocalWorkspace.createOrSelectStack({ stackName, projectName: "rst-conformance", program: async () => program() }, { envVars });
    try {
        await stack.up({ onEvent, continueOnError: true }).catch(() => undefined);
        await stack.destroy({ continueOnError: true }).catch(() => undefined);
        await stack.workspace.removeStack(stackName, { force: true }).catch(() => undefined);
    } finally {
        fs.rmSync(stateDir, { recursive: true, force: true });
    }
    return reports;
}

/** Go's %q of a string (strconv.Quote) for the ASCII this suite uses. */
export function goQuote(s: string): string {
    if (!/^[\x09\x0a\x20-\x7e]*$/.test(s)) throw new Error("goQuote: only printable ASCII, tab and newline");
    return JSON.stringify(s);
}
