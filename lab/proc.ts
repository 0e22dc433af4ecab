/**
 * Child-process helpers: run a command, capture output, enforce a timeout.
 */
import { spawn, type StdioOptions } from "node:child_process";

/** Result of a finished command. `code` is 128+signal when killed by a signal. */
export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Options for {@link run}. */
export interface RunOptions {
  /** Data written to the child's stdin (then closed). Default: stdin is /dev/null. */
  stdin?: string | Buffer;
  /** Kill the child (SIGKILL) after this many milliseconds; the result then has code 124. */
  timeoutMs?: number;
  /** Extra environment (merged over process.env unless `cleanEnv`). */
  env?: NodeJS.ProcessEnv;
  /** Working directory. */
  cwd?: string;
  /** Called with every chunk of stdout and stderr as it arrives (progress reporting). */
  onOutput?: (chunk: string) => void;
}

const SIGNALS: Record<string, number> = { SIGHUP: 1, SIGINT: 2, SIGKILL: 9, SIGTERM: 15, SIGPIPE: 13 };

/** Run `cmd args` and capture stdout/stderr. Never rejects for a non-zero exit (see {@link runOk}). */
export function run(cmd: string, args: readonly string[], opts: RunOptions = {}): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const stdio: StdioOptions = [opts.stdin === undefined ? "ignore" : "pipe", "pipe", "pipe"];
    // with a timeout the child gets its own process group so that everything it started dies with it
    const detached = opts.timeoutMs !== undefined;
    const child = spawn(cmd, args, { stdio, env: { ...process.env, ...opts.env }, cwd: opts.cwd, detached });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    let timedOut = false;
    const timer =
      opts.timeoutMs !== undefined
        ? setTimeout(() => {
            timedOut = true;
            try {
              if (child.pid !== undefined) process.kill(-child.pid, "SIGKILL");
            } catch {
              child.kill("SIGKILL");
            }
          }, opts.timeoutMs)
        : undefined;
    child.stdout?.on("data", (b: Buffer) => {
      out.push(b);
      opts.onOutput?.(b.toString("utf8"));
    });
    child.stderr?.on("data", (b: Buffer) => {
      err.push(b);
      opts.onOutput?.(b.toString("utf8"));
    });
    child.on("error", (e) => {
      if (timer) clearTimeout(timer);
      reject(e);
    });
    child.on("close", (code, signal) => {
      if (timer) clearTimeout(timer);
      const stderr = Buffer.concat(err).toString("utf8");
      resolve({
        code: timedOut ? 124 : code ?? 128 + (signal ? SIGNALS[signal] ?? 0 : 0),
        stdout: Buffer.concat(out).toString("utf8"),
        stderr: timedOut ? `${stderr}[timed out after ${opts.timeoutMs} ms]\n` : stderr,
      });
    });
    if (opts.stdin !== undefined && child.stdin) {
      child.stdin.on("error", () => undefined); // child may exit without reading
      child.stdin.end(opts.stdin);
    }
  });
}

/** Error thrown by {@link runOk} for a non-zero exit. */
export class CommandError extends Error {
  constructor(
    readonly argv: readonly string[],
    readonly result: RunResult,
  ) {
    super(`command failed (exit ${result.code}): ${argv.join(" ")}\n${result.stderr.trim()}`);
    this.name = "CommandError";
  }
}

/** Run a command and throw {@link CommandError} unless it exits 0. Returns stdout. */
export async function runOk(cmd: string, args: readonly string[], opts: RunOptions = {}): Promise<string> {
  const r = await run(cmd, args, opts);
  if (r.code !== 0) throw new CommandError([cmd, ...args], r);
  return r.stdout;
}

/** Run a command with the caller's stdin/stdout/stderr attached; resolves to its exit code. */
export function runInteractive(cmd: string, args: readonly string[]): Promise<number> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: "inherit" });
    child.on("error", reject);
    child.on("close", (code, signal) => resolve(code ?? 128 + (signal ? SIGNALS[signal] ?? 0 : 0)));
  });
}

/** Sleep for `ms` milliseconds. */
export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
