import { afterEach, beforeEach, describe, expect, it } from "vitest";
import * as pulumi from "@pulumi/pulumi";
import { skipSdkPromiseTraces, trimSdkStackTraces } from "../../components/program/sdkStackTraces";

/** The SDK's promise bookkeeping module: internal, so not in its type declarations. */
// eslint-disable-next-line @typescript-eslint/no-require-imports
const bookkeeping = require("@pulumi/pulumi/runtime/debuggable") as { debuggablePromise: (p: Promise<unknown>, ctx: string) => Promise<unknown>; debugPromiseLeaks: boolean };
/** The bookkeeper as the SDK defines it (the tests below replace the module's export). */
const { debuggablePromise } = bookkeeping;
/** Error's formatter slot, which Node's types do not let a test empty. */
const errorClass = Error as { prepareStackTrace?: unknown };

describe("trimSdkStackTraces (the stack program's cheaper SDK traces)", () => {
    const original = Error.prepareStackTrace;
    let mapped: number;
    /** Stands in for source-map-support's formatter: counts what it is asked to map. */
    const mapping = (error: Error, frames: NodeJS.CallSite[]) => {
        mapped++;
        return `MAPPED ${error.message} ${frames.length}`;
    };
    beforeEach(() => {
        mapped = 0;
        Error.prepareStackTrace = mapping;
    });
    afterEach(() => {
        Error.prepareStackTrace = original;
    });

    it("leaves the SDK's promise traces unmapped, and maps every other trace as before", () => {
        expect(trimSdkStackTraces()).toBe(true);
        // The trace is kept on the promise passed in (it returns a chained one).
        const p = Promise.resolve(1) as Promise<number> & { _debugStackTrace?: string };
        void debuggablePromise(p, "test");
        // The SDK still names its bookkeeper debuggablePromise (a newer SDK that renames it
        // fails here rather than silently losing the gain).
        expect(p._debugStackTrace).toMatch(/^Error\n {4}at debuggablePromise \(.*debuggable\.js:\d+:\d+\)\n/);
        expect(mapped).toBe(0);
        expect(new Error("boom").stack).toMatch(/^MAPPED boom \d+$/);
        expect(mapped).toBe(1);
    });

    it("wraps once, and leaves a process without a formatter alone", () => {
        expect(trimSdkStackTraces()).toBe(true);
        const wrapped = Error.prepareStackTrace;
        expect(trimSdkStackTraces()).toBe(false);
        expect(Error.prepareStackTrace).toBe(wrapped);
        errorClass.prepareStackTrace = undefined;
        expect(trimSdkStackTraces()).toBe(false);
        expect(errorClass.prepareStackTrace).toBeUndefined();
    });

    it("cuts the trace a registration stores after the program's outermost frame, and keeps the SDK's frames above it", () => {
        // Frames as source-map-support would print them, one per line, so the test sees
        // which frames reached the formatter.
        Error.prepareStackTrace = (error: Error, frames: NodeJS.CallSite[]) =>
            [String(error), ...frames.map((f) => `    at ${f.getFunctionName() ?? "<anonymous>"} (${f.getFileName() ?? ""}:${f.getLineNumber()}:${f.getColumnNumber()})`)].join("\n");
        const before = callsites();
        expect(trimSdkStackTraces()).toBe(true);
        const after = callsites();
        // The SDK still takes a registration's trace in Resource.callsites and parses it into
        // file positions (a renamed tracer fails here rather than silently storing it whole).
        expect(after[0]).toMatch(/node_modules\/@pulumi\/pulumi\/resource\.js$/);
        const lastOwn = (trace: Array<string | undefined>) => trace.map((f) => f !== undefined && !f.includes("/node_modules/") && !f.startsWith("node:")).lastIndexOf(true);
        // Untrimmed, the test runner's frames follow this file's; trimmed, this file's frame ends it.
        expect(before.length).toBeGreaterThan(lastOwn(before) + 1);
        expect(after.length).toBe(lastOwn(after) + 1);
        expect(after[after.length - 1]).toMatch(/sdk-stack-traces\.test\.ts$/);
        // The top frames the SDK skips by count are all still there, in order.
        expect(after).toEqual(before.slice(0, after.length));
    });
});

describe("skipSdkPromiseTraces (no trace for the SDK's promise bookkeeping)", () => {
    afterEach(() => {
        bookkeeping.debuggablePromise = debuggablePromise;
        bookkeeping.debugPromiseLeaks = false;
    });

    it("takes no trace for the bookkeeping, and every other error keeps its whole trace", async () => {
        expect(skipSdkPromiseTraces()).toBe(true);
        const limit = Error.stackTraceLimit;
        const p = Promise.resolve(7) as Promise<number> & { _debugStackTrace?: string };
        const chained = bookkeeping.debuggablePromise(p, "test");
        // The error's name alone (how a formatter prints it varies), no frame.
        expect(p._debugStackTrace).toMatch(/^Error:? ?$/);
        // The limit is back for everything else, and the bookkeeper's promise still resolves.
        expect(Error.stackTraceLimit).toBe(limit);
        expect(new Error("boom").stack).toMatch(/\n {4}at /);
        await expect(chained).resolves.toBe(7);
        // Once only.
        expect(skipSdkPromiseTraces()).toBe(false);
    });

    it("leaves the traces when PULUMI_DEBUG_PROMISE_LEAKS asks for them (the leak report prints them)", () => {
        bookkeeping.debugPromiseLeaks = true;
        expect(skipSdkPromiseTraces()).toBe(false);
        expect(bookkeeping.debuggablePromise).toBe(debuggablePromise);
    });

    it("is what the SDK calls when it registers a resource (a newer SDK that binds the bookkeeper directly fails here rather than silently losing the gain)", async () => {
        expect(skipSdkPromiseTraces()).toBe(true);
        const skipping = bookkeeping.debuggablePromise;
        let calls = 0;
        bookkeeping.debuggablePromise = (p, ctx) => {
            calls++;
            return skipping(p, ctx);
        };
        pulumi.runtime.setMocks({ newResource: (a) => ({ id: `${a.name}-id`, state: a.inputs }), call: () => ({}) }, "project", "stack", false);
        const r = new (class extends pulumi.CustomResource {})("test:index:Thing", "thing", { value: 1 });
        await new Promise<void>((done) => r.urn.apply(() => done()));
        expect(calls).toBeGreaterThan(0);
    });
});

/** The files of the frames the SDK's registration tracer records, from here. */
function callsites(): Array<string | undefined> {
    const sdk = pulumi.Resource as unknown as { callsites(): Array<{ file?: string }> };
    return sdk.callsites().map((f) => f.file);
}
