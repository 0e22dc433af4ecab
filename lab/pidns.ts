/**
 * A "container on main": a process inside a host that runs under a given UID
 * (typically a tunnel account's) but in a PID namespace of its own, started
 * the way a container runtime would: a transient system service
 * (`systemd-run`, so it lives in its own cgroup under system.slice, not in the
 * user's slice) running `unshare --pid --fork --mount-proc` and then
 * `setpriv` to drop to the UID. Inside, the process is PID 1 and sees only its
 * own processes; from the host's own PID namespace it is an ordinary process
 * of that UID.
 */
import { execIn } from "./nsexec";

/** Options of {@link startInPidNamespace}. */
export interface PidNsOptions {
  /** Group id (default: the UID's primary group from the host's /etc/passwd, else the UID). */
  gid?: number;
  /** Program to run (default ["sleep", "infinity"]). */
  command?: readonly string[];
  /** Transient unit name (default `rst-pidns-<uid>-<random>.service`). */
  unit?: string;
}

/** A process started by {@link startInPidNamespace}. */
export interface PidNsProcess {
  host: string;
  /** transient unit holding it (`systemctl status UNIT` inside the host) */
  unit: string;
  uid: number;
  gid: number;
  /** PID of the UID-owned process in the host's own PID namespace */
  pid: number;
  /** its start time (field 22 of /proc/PID/stat), to tell it from a later process with the same PID */
  startTime: string;
  /** `NSpid:` of /proc/PID/status, e.g. [4711, 1]: the PID seen by the host, then inside its namespace */
  nsPids: number[];
  /** Shell test (run as root inside the host) that exits 0 while this very process is alive. */
  aliveCheck: string;
}

function uidLookupScript(uid: number): string {
  return `getent passwd ${uid} | cut -d: -f4`;
}

/** Shell test exiting 0 while the process `pid` with start time `startTime` exists (zombies count as dead). */
export function aliveScript(pid: number, startTime: string): string {
  return `[ -r /proc/${pid}/stat ] && s=$(cat /proc/${pid}/stat 2>/dev/null) && r=\${s##*) } && set -- $r && [ "$1" != Z ] && [ "$(echo "$r" | cut -d' ' -f20)" = "${startTime}" ]`;
}

/**
 * Start `command` (default `sleep infinity`) inside `host` as `uid` in a new PID
 * namespace, as a transient service. Resolves once the UID-owned process runs.
 */
export async function startInPidNamespace(host: string, uid: number, opts: PidNsOptions = {}): Promise<PidNsProcess> {
  if (!Number.isInteger(uid) || uid < 0) throw new Error(`startInPidNamespace: uid must be a non-negative integer, got ${uid}`);
  let gid = opts.gid;
  if (gid === undefined) {
    const g = (await execIn(host, uidLookupScript(uid))).stdout.trim();
    gid = /^\d+$/.test(g) ? Number(g) : uid;
  }
  const unit = opts.unit ?? `rst-pidns-${uid}-${Math.random().toString(36).slice(2, 8)}.service`;
  const command = opts.command ?? ["sleep", "infinity"];
  const argv = [
    "systemd-run", "--quiet", `--unit=${unit}`, "--collect", "--property=KillMode=control-group",
    // PID 1 of a PID namespace ignores SIGTERM unless it handles it (sleep does not): stop means SIGKILL
    "--property=KillSignal=SIGKILL",
    "--", "unshare", "--pid", "--fork", "--mount-proc",
    "setpriv", `--reuid=${uid}`, `--regid=${gid}`, "--clear-groups", "--inh-caps=-all", "--bounding-set=-all",
    "--", ...command,
  ];
  const r = await execIn(host, argv, { timeoutMs: 30_000 });
  if (r.code !== 0) throw new Error(`${host}: systemd-run ${unit} failed (${r.code}): ${r.stderr.trim()}`);
  const deadline = Date.now() + 10_000;
  for (;;) {
    // the unit's main process is unshare (root); its child is PID 1 of the new namespace, owned by uid
    const q = await execIn(
      host,
      `m=$(systemctl show -P MainPID ${unit}); [ "$m" -gt 0 ] 2>/dev/null || exit 3; ` +
        `for c in $(cat /proc/$m/task/*/children 2>/dev/null); do ` +
        `u=$(awk '/^Uid:/{print $2}' /proc/$c/status); n=$(awk '/^NSpid:/{$1=""; print}' /proc/$c/status); ` +
        `s=$(cat /proc/$c/stat); r=\${s##*) }; echo "$c $u $(echo "$r" | cut -d' ' -f20) |$n"; done`,
    );
    const line = q.stdout.split("\n").find((l) => l.split(" ")[1] === String(uid));
    if (q.code === 0 && line) {
      const [head, ns] = line.split("|");
      const [pid, , startTime] = head.trim().split(" ");
      const nsPids = ns.trim().split(/\s+/).map(Number);
      return { host, unit, uid, gid, pid: Number(pid), startTime, nsPids, aliveCheck: aliveScript(Number(pid), startTime) };
    }
    if (Date.now() > deadline) {
      const st = await execIn(host, ["systemctl", "status", "--no-pager", unit]);
      throw new Error(`${host}: ${unit} has no process of uid ${uid} after 10 s:\n${st.stdout}${st.stderr}`);
    }
    await new Promise((res) => setTimeout(res, 100));
  }
}

/** True while the process is alive (same PID and start time). */
export async function pidNsAlive(p: PidNsProcess): Promise<boolean> {
  return (await execIn(p.host, p.aliveCheck)).code === 0;
}

/** Stop the transient unit (kills the process and its namespace); no error if already gone. */
export async function stopPidNs(p: PidNsProcess): Promise<void> {
  await execIn(p.host, ["systemctl", "stop", p.unit], { timeoutMs: 30_000 });
}
