/**
 * Run commands as root inside a host by entering its container's namespaces
 * (nsenter with the container init's PID).
 */
import { leaderPid } from "./container";
import { run, runInteractive, type RunResult } from "./proc";

/** Environment a command gets inside a host (clean, like a root login shell's basics). */
export const GUEST_ENV = ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "HOME=/root", "USER=root", "LANG=C.UTF-8"];

/** nsenter argv running `argv` inside the namespaces of `pid`. */
export function nsenterArgv(pid: number, argv: readonly string[]): string[] {
  const term = process.env.TERM ? [`TERM=${process.env.TERM}`] : [];
  return ["-t", String(pid), "-m", "-u", "-i", "-n", "-p", "-C", "--", "/usr/bin/env", "-i", ...GUEST_ENV, ...term, ...argv];
}

/** The running leader PID of `host`, or an error saying the host is down. */
export function requireLeader(host: string): number {
  const pid = leaderPid(host);
  if (pid === null) throw new Error(`host ${host} is not running (no container init in netns rst-${host})`);
  return pid;
}

/** Options for {@link execIn}. */
export interface ExecOptions {
  stdin?: string | Buffer;
  timeoutMs?: number;
}

/** Run `argv` (or a `/bin/sh -c` script when given a string) as root in `host`, capturing output. */
export async function execIn(host: string, command: readonly string[] | string, opts: ExecOptions = {}): Promise<RunResult> {
  const argv = typeof command === "string" ? ["/bin/sh", "-c", command] : command;
  return run("nsenter", nsenterArgv(requireLeader(host), argv), opts);
}

/** Run `argv` as root in `host` with the caller's stdio; resolves to the exit code. */
export function execInteractive(host: string, argv: readonly string[]): Promise<number> {
  return runInteractive("nsenter", nsenterArgv(requireLeader(host), argv));
}
