import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { unmapPromiseStackTraces } from "../../components/program/promiseStackTraces";

/** The SDK's promise bookkeeper: internal, so not in its type declarations. */
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { debuggablePromise } = require("@pulumi/pulumi/runtime/debuggable") as { debuggablePromise: (p: Promise<unknown>, ctx: string) => Promise<unknown> };
/** Error's formatter slot, which Node's types do not let a test empty. */
const errorClass = Error as { prepareStackTrace?: unknown };

describe("unmapPromiseStackTraces (the stack program's cheaper SDK promise traces)", () => {
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
        expect(unmapPromiseStackTraces()).toBe(true);
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
        expect(unmapPromiseStackTraces()).toBe(true);
        const wrapped = Error.prepareStackTrace;
        expect(unmapPromiseStackTraces()).toBe(false);
        expect(Error.prepareStackTrace).toBe(wrapped);
        errorClass.prepareStackTrace = undefined;
        expect(unmapPromiseStackTraces()).toBe(false);
        expect(errorClass.prepareStackTrace).toBeUndefined();
    });
});
