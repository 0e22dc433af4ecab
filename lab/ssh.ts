/**
 * Real SSH from the operator (root namespace) to lab hosts as the admin user,
 * with host keys pinned through a generated known_hosts file.
 */
import * as fs from "node:fs";
import { run, runInteractive, type RunResult } from "./proc";
import type { LabDescription, LabHost } from "./types";

/**
 * Render known_hosts lines for every host under every address it has. A host
 * whose sshd is not on 22 is listed both as `[addr]:port` (what ssh looks up
 * for that port) and as plain `addr`.
 */
export function knownHostsText(hosts: readonly LabHost[]): string {
  const lines: string[] = [];
  for (const h of hosts) {
    const plain = [h.addresses.operator, h.addresses.public, h.addresses.lan].filter((a): a is string => !!a);
    const port = h.sshPort ?? 22;
    const addrs = port === 22 ? plain : [...plain.map((a) => `[${a}]:${port}`), ...plain];
    for (const key of [h.hostKeys.ed25519, h.hostKeys.rsa]) {
      const [type, b64] = key.split(/\s+/);
      lines.push(`${addrs.join(",")} ${type} ${b64}`);
    }
  }
  return lines.join("\n") + "\n";
}

/** Write the lab's known_hosts file. */
export function writeKnownHosts(file: string, hosts: readonly LabHost[]): void {
  fs.writeFileSync(file, knownHostsText(hosts), { mode: 0o644 });
}

/** Options for ssh to a host. */
export interface SshOptions {
  stdin?: string | Buffer;
  timeoutMs?: number;
  /** ConnectTimeout in seconds (default 5). */
  connectTimeoutS?: number;
  /** Extra `-o` options or flags placed before the destination. */
  extraArgs?: string[];
}

/** ssh argv (without the `ssh` itself) for running `command` on `host` as its admin user. */
export function sshArgv(lab: LabDescription, host: LabHost, command: string | null, opts: SshOptions = {}): string[] {
  return [
    "-F",
    "/dev/null",
    "-i",
    host.adminKeyPath,
    "-o",
    "IdentitiesOnly=yes",
    "-o",
    "BatchMode=yes",
    "-o",
    "StrictHostKeyChecking=yes",
    "-o",
    `UserKnownHostsFile=${lab.knownHostsPath}`,
    "-o",
    "GlobalKnownHostsFile=/dev/null",
    "-o",
    `ConnectTimeout=${opts.connectTimeoutS ?? 5}`,
    "-o",
    "LogLevel=ERROR",
    ...((host.sshPort ?? 22) !== 22 ? ["-p", String(host.sshPort)] : []),
    ...(opts.extraArgs ?? []),
    `${host.adminUser}@${host.addresses.operator}`,
    ...(command === null ? [] : ["--", command]),
  ];
}

/** Run `command` on `host` over SSH as admin, capturing output. */
export function sshRun(lab: LabDescription, host: LabHost, command: string, opts: SshOptions = {}): Promise<RunResult> {
  return run("ssh", sshArgv(lab, host, command, opts), { stdin: opts.stdin, timeoutMs: opts.timeoutMs });
}

/** Interactive ssh (stdio attached); `command` null opens a login shell. */
export function sshInteractive(lab: LabDescription, host: LabHost, command: string | null): Promise<number> {
  const tty = process.stdin.isTTY && command === null ? ["-t"] : [];
  return runInteractive("ssh", sshArgv(lab, host, command, { extraArgs: tty }));
}
