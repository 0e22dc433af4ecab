/**
 * Cheaper stack traces for the Node SDK's promise bookkeeping, for the stack program
 * (index.ts) only: a library must not change a consumer's process-wide error
 * formatting, so the package root does not export this.
 *
 * Why: `@pulumi/pulumi` records a stack trace for every promise it makes
 * (`debuggablePromise` in runtime/debuggable.js, about 40 per resource) and reads it
 * only to print a report if the program ends with one of them unresolved. Under
 * ts-node, which is how the engine runs a TypeScript program, every trace goes through
 * source-map-support's formatter, which maps each frame through the source maps of
 * the SDK's own files: measured with the SDK's mocks at 20 backups (283 resources),
 * 11,850 such traces took half of the program's registration CPU.
 */

/** The SDK function whose traces are only kept for its promise-leak report. */
const PROMISE_BOOKKEEPER = "debuggablePromise";
/** Marks a formatter installed here, so a second call does not wrap it again. */
const WRAPPED = Symbol.for("reverse-ssh-tunnel.promiseStackTraces");

type StackFormatter = (error: Error, frames: NodeJS.CallSite[]) => unknown;

/** V8's own format, without source maps: what `.stack` holds when nothing maps it. */
function unmapped(error: Error, frames: NodeJS.CallSite[]): string {
    return [Error.prototype.toString.call(error), ...frames.map((f) => `    at ${String(f)}`)].join("\n");
}

/**
 * Leaves stack traces the SDK takes in `debuggablePromise` unmapped (V8's plain
 * positions, in the generated JavaScript) and every other trace (errors, the source
 * position a registration stores) to the formatter installed before, when there is
 * one (ts-node installs source-map-support's). Does nothing when no formatter is
 * installed (plain JavaScript, or Node's built-in source maps). Idempotent. Returns
 * whether it wrapped a formatter.
 */
export function unmapPromiseStackTraces(): boolean {
    const format = Error.prepareStackTrace as (StackFormatter & { [WRAPPED]?: true }) | undefined;
    if (typeof format !== "function" || format[WRAPPED]) return false;
    const wrapped: StackFormatter & { [WRAPPED]?: true } = (error, frames) =>
        frames[0]?.getFunctionName() === PROMISE_BOOKKEEPER ? unmapped(error, frames) : format(error, frames);
    wrapped[WRAPPED] = true;
    Error.prepareStackTrace = wrapped as typeof Error.prepareStackTrace;
    return true;
}
