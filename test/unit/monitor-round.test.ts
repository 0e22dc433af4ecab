/**
 * One round of the real monitor command on this machine, as root, in a private mount
 * namespace whose /etc, /var/lib and /usr/local/sbin are overlays on tmpfs (nothing
 * it writes reaches the host): who holds a listener decides (the tunnel account's
 * process, not a squatter), the banner must answer, the textfile lands by rename,
 * the alert command gets its environment, and unsafe settings or directories are
 * refused. Listeners are socat processes on loopback ports of this run's choosing;
 * the "tunnel account" is `nobody`. The lab test runs it against real sshd sessions.
 */
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { describe, expect, it } from "vitest";
import { renderMonitorCommand, renderMonitorSettings, resolveMonitorSettings } from "../../components/health";
import { shQuote } from "../../components/shell";

const FP = `SHA256:${"C".repeat(43)}`;
/** Free-looking high loopback ports for this run (pid-derived: parallel runs differ). */
const BASE = 40000 + ((process.pid * 7) % 20000);
const [OWN, SQUAT, SILENT, NONE] = [BASE, BASE + 1, BASE + 2, BASE + 3];

/** Runs `body` (bash) inside the sandbox with the monitor and `settings` installed; returns its output. */
function sandbox(body: string, settings: string): { stdout: string; stderr: string; status: number | null } {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "rst-round-"));
    fs.writeFileSync(path.join(dir, "monitor"), renderMonitorCommand(), { mode: 0o755 });
    fs.writeFileSync(path.join(dir, "settings"), settings, { mode: 0o600 });
    const list = [
        "# a test list",
        ["own", OWN, "nobody", FP, "1900000000"],
        ["squat", SQUAT, "nobody", FP, "-"],
        ["silent", SILENT, "nobody", FP, "-"],
        ["none", NONE, "nobody", FP, "-"],
    ]
        .map((r) => (Array.isArray(r) ? r.join("\t") : r))
        .join("\n");
    fs.writeFileSync(path.join(dir, "list.tsv"), `${list}\n`, { mode: 0o644 });
    const script = `set -e
d=${shQuote(dir)}
for m in /etc /var/lib /usr/local/sbin; do
    n=$(echo "$m" | tr / _)
    mkdir -p "$d/ov$n/up" "$d/ov$n/work"
    mount -t overlay overlay -o "lowerdir=$m,upperdir=$d/ov$n/up,workdir=$d/ov$n/work" "$m"
done
install -m 0755 "$d/monitor" /usr/local/sbin/reverse-ssh-tunnel-monitor
install -d -m 0755 /etc/reverse-ssh-tunnel /etc/reverse-ssh-tunnel/monitor.d
install -m 0600 "$d/settings" /etc/reverse-ssh-tunnel/monitor.conf
install -m 0644 "$d/list.tsv" /etc/reverse-ssh-tunnel/monitor.d/test.tsv
install -d -m 0700 /var/lib/rst-alerts
banner='echo SSH-2.0-OpenSSH_9.2p1 Debian-2; sleep 2'
# own: the "tunnel account" holds it and the backup answers; squat: root holds it; silent: no banner.
# (Their output elsewhere: a child left holding this script's stdout would hold up the test.)
setpriv --reuid=nobody --regid=nogroup --clear-groups socat TCP-LISTEN:${OWN},bind=127.0.0.1,reuseaddr,fork SYSTEM:"$banner" >/dev/null 2>&1 &
socat TCP-LISTEN:${SQUAT},bind=127.0.0.1,reuseaddr,fork SYSTEM:"$banner" >/dev/null 2>&1 &
setpriv --reuid=nobody --regid=nogroup --clear-groups socat TCP-LISTEN:${SILENT},bind=127.0.0.1,reuseaddr,fork SYSTEM:'sleep 10' >/dev/null 2>&1 &
for p in ${OWN} ${SQUAT} ${SILENT}; do
    for _ in $(seq 50); do ss -Hltn "sport = :$p" | grep -q . && break; sleep 0.1; done
done
set +e
${body}
rc=$?
# The listeners and their children: this namespace's own processes only.
pkill --ns $$ --nslist pid -P "$(jobs -p | paste -sd, -)" 2>/dev/null
kill $(jobs -p) 2>/dev/null
exit $rc
`;
    const r = spawnSync("unshare", ["--mount", "--propagation", "private", "bash", "-c", script], { encoding: "utf8", timeout: 60_000 });
    fs.rmSync(dir, { recursive: true, force: true });
    return { stdout: r.stdout, stderr: r.stderr, status: r.status };
}

const line = (text: string, series: string) => text.split("\n").find((l) => l.startsWith(`${series} `))?.slice(series.length + 1);
const alertCmd = 'echo "$RST_EVENT|$RST_BACKUP|$RST_DOWN_SECONDS|$RST_PORT|$RST_MAIN" >> /var/lib/rst-alerts/log';

describe("a monitor round on this machine (root, private mounts)", () => {
    const settings = renderMonitorSettings(resolveMonitorSettings({ alertCommand: alertCmd, alertAfterSeconds: 0 }));

    it("up only for the listener the tunnel account holds with a banner; squatter, silent and absent are down; alerts get their environment", () => {
        const r = sandbox(
            `/usr/local/sbin/reverse-ssh-tunnel-monitor >/dev/null || exit 9
echo "=== textfile"; cat /var/lib/prometheus/node-exporter/reverse_ssh_tunnel.prom
echo "=== files"; ls -A /var/lib/prometheus/node-exporter; stat -c '%U %a' /var/lib/prometheus/node-exporter/reverse_ssh_tunnel.prom /var/lib/prometheus /var/lib/prometheus/node-exporter /var/lib/reverse-ssh-tunnel-monitor
echo "=== alerts"; sort /var/lib/rst-alerts/log
echo "=== json"; /usr/local/sbin/reverse-ssh-tunnel-monitor --json
echo "=== status"; /usr/local/sbin/reverse-ssh-tunnel-monitor --status
# A second round: nothing new to tell, the change times kept.
sleep 1.1; /usr/local/sbin/reverse-ssh-tunnel-monitor >/dev/null || exit 9
echo "=== again"; wc -l < /var/lib/rst-alerts/log
awk -F'\t' '$7 >= $13 { bad++ } END { print bad + 0 }' /var/lib/reverse-ssh-tunnel-monitor/state.tsv`,
            settings,
        );
        expect(r.status, r.stderr).toBe(0);
        const [, textfile, files, alerts, json, status, again] = r.stdout.split(/^=== \w+\n/m);
        expect(line(textfile!, 'reverse_ssh_tunnel_up{backup="own"}')).toBe("1");
        expect(line(textfile!, 'reverse_ssh_tunnel_up{backup="squat"}')).toBe("0");
        expect(line(textfile!, 'reverse_ssh_tunnel_listener_up{backup="squat"}')).toBe("0");
        expect(line(textfile!, 'reverse_ssh_tunnel_listener_up{backup="silent"}')).toBe("1");
        expect(line(textfile!, 'reverse_ssh_tunnel_ssh_banner_up{backup="silent"}')).toBe("0");
        expect(line(textfile!, 'reverse_ssh_tunnel_up{backup="none"}')).toBe("0");
        const session = Number(line(textfile!, 'reverse_ssh_tunnel_session_start_timestamp_seconds{backup="own"}'));
        expect(Math.abs(session - Date.now() / 1000)).toBeLessThan(60);
        expect(line(textfile!, 'reverse_ssh_tunnel_key_expiry_timestamp_seconds{backup="own"}')).toBe("1900000000");
        // Only the file, by rename; readable for node_exporter's user, directories too; state root-only.
        expect(files!.trim().split("\n")).toEqual(["reverse_ssh_tunnel.prom", "root 644", "root 755", "root 755", "root 700"]);
        const host = spawnSync("bash", ["-c", "hostname -f 2>/dev/null || hostname"], { encoding: "utf8" }).stdout.trim();
        expect(alerts!.trim().split("\n")).toEqual([`down|none|0|${NONE}|${host}`, `down|silent|0|${SILENT}|${host}`, `down|squat|0|${SQUAT}|${host}`]);
        const doc = JSON.parse(json!) as { backups: Array<{ backup: string; up: boolean }> };
        expect(doc.backups.map((b) => `${b.backup}:${b.up}`)).toEqual(["none:false", "own:true", "silent:false", "squat:false"]);
        expect(status!.split("\n")[0]).toMatch(/^BACKUP\s+STATE\s+FOR\s+PORT\s+KEY EXPIRES$/);
        expect(status).toMatch(/^4 backup\(s\), 3 down; checked \d+s ago$/m);
        // 3 alerts, all from the first round; every change time older than the second round.
        expect(again!.trim().split("\n")).toEqual(["3", "0"]);
    });

    it("refuses settings others can write, and a world-writable textfile directory", () => {
        const r = sandbox(
            `chmod 0666 /etc/reverse-ssh-tunnel/monitor.conf
/usr/local/sbin/reverse-ssh-tunnel-monitor >/dev/null; echo "rc=$?"
chmod 0600 /etc/reverse-ssh-tunnel/monitor.conf
mkdir -p /var/lib/prometheus/node-exporter && chmod 1777 /var/lib/prometheus/node-exporter
/usr/local/sbin/reverse-ssh-tunnel-monitor >/dev/null; echo "rc=$?"
ls -A /var/lib/prometheus/node-exporter | wc -l`,
            settings,
        );
        expect(r.stdout.trim().split("\n")).toEqual(["rc=1", "rc=1", "0"]);
        expect(r.stderr).toMatch(/monitor\.conf must be owned by root and writable by root only/);
        expect(r.stderr).toMatch(/node-exporter is world-writable/);
    });
});
