/**
 * Readiness: wait until a host's systemd finished booting and its sshd lets
 * the admin in with the admin key (host key pinned).
 */
import * as fs from "node:fs";
import { nspawnPid, supervisorPid } from "./container";
import { execIn } from "./nsexec";
import { sleep } from "./proc";
import { sshRun } from "./ssh";
import type { LabDescription, LabHost } from "./types";

/** Last `lines` lines of a host's console log. */
export function consoleTail(host: LabHost, lines = 40): string {
  try {
    const all = fs.readFileSync(host.consoleLog, "utf8").split("\n");
    return all.slice(-lines).join("\n");
  } catch {
    return "(no console log)";
  }
}

/** Error thrown when a host does not become ready; carries the console tail. */
export class HostNotReadyError extends Error {
  constructor(host: LabHost, reason: string) {
    super(`${host.name} not ready: ${reason}\n--- last lines of ${host.consoleLog} ---\n${consoleTail(host)}\n---`);
    this.name = "HostNotReadyError";
  }
}

/** Readiness details. */
export interface ReadyInfo {
  /** `systemctl is-system-running` result: running or degraded */
  systemState: string;
  failedUnits: string[];
  ms: number;
}

/** Wait for `host` to boot and accept admin SSH; throws {@link HostNotReadyError} after `timeoutMs`. */
export async function waitReady(lab: LabDescription, host: LabHost, timeoutMs = 120_000): Promise<ReadyInfo> {
  const start = Date.now();
  const deadline = start + timeoutMs;
  const left = () => deadline - Date.now();
  const checkAlive = () => {
    if (supervisorPid(host.name) === null && nspawnPid(host.name) === null) {
      throw new HostNotReadyError(host, "the container exited");
    }
  };
  let systemState = "";
  while (left() > 0) {
    checkAlive();
    const r = await execIn(host.name, ["systemctl", "is-system-running", "--wait"], { timeoutMs: Math.max(1000, left()) }).catch(
      () => null,
    );
    systemState = r?.stdout.trim() ?? "";
    if (systemState === "running" || systemState === "degraded") break;
    await sleep(200);
  }
  if (systemState !== "running" && systemState !== "degraded") {
    throw new HostNotReadyError(host, `systemd did not finish booting in ${timeoutMs} ms (state ${systemState || "unknown"})`);
  }
  const failed = systemState === "degraded" ? await failedUnits(host.name) : [];
  let lastErr = "";
  while (left() > 0) {
    checkAlive();
    const r = await sshRun(lab, host, "true", { connectTimeoutS: 3, timeoutMs: Math.min(10_000, Math.max(1000, left())) });
    if (r.code === 0) return { systemState, failedUnits: failed, ms: Date.now() - start };
    lastErr = r.stderr.trim();
    await sleep(200);
  }
  const units = failed.length ? ` (systemd ${systemState}, failed units: ${failed.join(" ")})` : "";
  throw new HostNotReadyError(host, `admin ssh to ${host.addresses.operator} did not work in ${timeoutMs} ms${units}: ${lastErr || "(no ssh error output)"}`);
}

async function failedUnits(host: string): Promise<string[]> {
  const r = await execIn(host, ["systemctl", "--failed", "--no-legend", "--plain"]);
  return r.stdout
    .split("\n")
    .map((l) => l.trim().split(/\s+/)[0])
    .filter(Boolean);
}
