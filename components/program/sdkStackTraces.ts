/**
 * Cheaper stack traces for the Node SDK, for the stack program (index.ts) only: a
 * library must not change a consumer's process-wide error formatting, so the package
 * root does not export this.
 *
 * Why, for two kinds of trace the SDK takes through `Error.prepareStackTrace`:
 * - `@pulumi/pulumi` records a trace for every promise it makes (`debuggablePromise`
 *   in runtime/debuggable.js, about 40 per resource) and reads it only to print a
 *   report if the program ends with one of them unresolved. Under ts-node, which is how
 *   the engine runs a TypeScript program, every trace goes through source-map-support's
 *   formatter, which maps each frame through the source maps of the SDK's own files:
 *   measured with the SDK's mocks at 20 backups (283 resources), 11,850 such traces
 *   took half of the program's registration CPU.
 * - Every registration stores its trace in the state (`Resource.callsites`, the
 *   resource's `stackTrace`), and a DIY backend rewrites the whole state on every step.
 *   Below the program's own outermost frame the trace is always the same ts-node
 *   loader and SDK entry frames: more than half of each record's trace, 0.4 kB per
 *   resource, stored in every record and carrying nothing about where it was made.
 */

/** The SDK function whose traces are only kept for its promise-leak report. */
const PROMISE_BOOKKEEPER = "debuggablePromise";
/** The SDK function that takes the trace a registration stores (`Resource.callsites`). */
const REGISTRATION_TRACER = "callsites";
/** Marks a formatter (or bookkeeper) installed here, so a second call does not wrap it again. */
const WRAPPED = Symbol.for("reverse-ssh-tunnel.sdkStackTraces");

type StackFormatter = (error: Error, frames: NodeJS.CallSite[]) => unknown;

/** V8's own format, without source maps: what `.stack` holds when nothing maps it. */
function unmapped(error: Error, frames: NodeJS.CallSite[]): string {
    return [Error.prototype.toString.call(error), ...frames.map((f) => `    at ${String(f)}`)].join("\n");
}

/** True for a frame in the program's own files: not Node's, not an installed package's. */
function isProgramFrame(frame: NodeJS.CallSite): boolean {
    const file = frame.getFileName() ?? "";
    return file !== "" && !file.startsWith("node:") && !file.includes("/node_modules/");
}

/**
 * A registration's frames down to the program's outermost frame. The frames above it
 * stay as they are: the SDK skips its own top frames by count and takes the first one
 * after them as the resource's source position. A trace without a program frame (a
 * registration made from a package alone) is left whole.
 */
function registrationFrames(frames: NodeJS.CallSite[]): NodeJS.CallSite[] {
    for (let i = frames.length - 1; i >= 0; i--) if (isProgramFrame(frames[i]!)) return frames.slice(0, i + 1);
    return frames;
}

/**
 * Leaves the traces the SDK takes in `debuggablePromise` unmapped (V8's plain
 * positions, in the generated JavaScript), cuts the traces registrations store after
 * the program's outermost frame (`registrationFrames`), and hands every trace (errors
 * included) to the formatter installed before, when there is one (ts-node installs
 * source-map-support's). Does nothing when no formatter is installed (plain JavaScript,
 * or Node's built-in source maps). Idempotent. Returns whether it wrapped a formatter.
 */
export function trimSdkStackTraces(): boolean {
    const format = Error.prepareStackTrace as (StackFormatter & { [WRAPPED]?: true }) | undefined;
    if (typeof format !== "function" || format[WRAPPED]) return false;
    const wrapped: StackFormatter & { [WRAPPED]?: true } = (error, frames) => {
        const top = frames[0]?.getFunctionName();
        if (top === PROMISE_BOOKKEEPER) return unmapped(error, frames);
        return format(error, top === REGISTRATION_TRACER ? registrationFrames(frames) : frames);
    };
    wrapped[WRAPPED] = true;
    Error.prepareStackTrace = wrapped as typeof Error.prepareStackTrace;
    return true;
}

/** The SDK's promise bookkeeper module (internal: not in its type declarations). */
interface PromiseBookkeeping {
    /** Records a trace (`new Error().stack`) on every promise it is handed. */
    debuggablePromise: ((p: Promise<unknown>, ctx: unknown) => Promise<unknown>) & { [WRAPPED]?: true };
    /** True when PULUMI_DEBUG_PROMISE_LEAKS was set: the leak report prints those traces. */
    debugPromiseLeaks?: boolean;
}

/**
 * Takes no trace for the SDK's promise bookkeeping (`debuggablePromise`), about 40
 * traces per resource that only a leak report printed under PULUMI_DEBUG_PROMISE_LEAKS
 * reads: with that variable set, nothing changes. Capturing them was a quarter of the
 * program's CPU at 100 backups even unformatted (mocks: 5.1 to 3.7 CPU-s), and the stack
 * program is what bounds a no-op up. The SDK calls the bookkeeper through its module's
 * exports, so the wrapper replaces that export; it sets `Error.stackTraceLimit` to 0 only
 * for the call, so every other error keeps its whole trace. Idempotent. Returns whether
 * it wrapped the bookkeeper.
 */
export function skipSdkPromiseTraces(): boolean {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const sdk = require("@pulumi/pulumi/runtime/debuggable") as PromiseBookkeeping;
    const keep = sdk.debuggablePromise;
    if (sdk.debugPromiseLeaks === true || typeof keep !== "function" || keep[WRAPPED]) return false;
    const wrapped: PromiseBookkeeping["debuggablePromise"] = (p, ctx) => {
        const limit = Error.stackTraceLimit;
        Error.stackTraceLimit = 0;
        try {
            return keep(p, ctx);
        } finally {
            Error.stackTraceLimit = limit;
        }
    };
    wrapped[WRAPPED] = true;
    sdk.debuggablePromise = wrapped;
    return true;
}
