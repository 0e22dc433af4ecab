/**
 * The health timer on a real main, under the real engine, with Debian's own
 * prometheus-node-exporter on main (its .deb fetched here with apt-get download and
 * installed into the lab host, which has no package network): after `pulumi up` the
 * operator scrapes main's node_exporter and reads up 1 for the backup; cutting the
 * backup's link turns it 0 within 45 s and runs the alert command once; restoring
 * it turns it 1 and runs the command once more; `npm run status` prints the fleet
 * (timed, also with 20 backups listed); destroy removes the series and the timer.
 */
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import type { Stack } from "@pulumi/pulumi/automation";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { hostExec, LabDescription, loadLab, setLink } from "../../lab/client";
import { renderMonitorInstallScript, renderMonitorRemoveScript, resolveMonitorSettings } from "../../components/health";
import { runScript } from "../support/apply";
import { debianPackage } from "../support/debian";
import { openStack, ROOT } from "../support/engine";
import { sh, waitFor, writeReport } from "../support/hosts";

const STACK = "observability";
const PI = { name: "pi", lab: "backup1", tunnelPort: 2222 };
/** Root-only directory on main where the test's alert command writes what it was told. */
const ALERT_DIR = "/var/lib/rst-observability-test";
const ALERT_COMMAND = `echo "$RST_EVENT $RST_BACKUP $RST_DOWN_SECONDS $RST_PORT" >> ${ALERT_DIR}/alerts.log`;
const base = {
    lab: ".state/lab/lab.json",
    // Default interval (30 s); alerts at once, so that the link cut is told within this file's budget.
    main: { lab: "main", monitor: { alertCommand: ALERT_COMMAND, alertAfterSeconds: 0 } },
};

/** A sample's value in node_exporter's output, e.g. `reverse_ssh_tunnel_up{backup="pi"}`. */
function sample(metrics: string, series: string): string | undefined {
    return metrics.split("\n").find((l) => l.startsWith(`${series} `))?.slice(series.length + 1);
}

describe.sequential("health timer: node_exporter metrics, alerts and status on a real main", () => {
    let lab: LabDescription;
    let stack: Stack;
    let scrapeUrl: string;
    const figures: Record<string, number> = {};
    const scrape = async (): Promise<string> => {
        const r = await fetch(scrapeUrl, { signal: AbortSignal.timeout(5000) });
        expect(r.status).toBe(200);
        return r.text();
    };
    /** The alert command's lines about `backup`. */
    const alerts = async (backup: string): Promise<string[]> =>
        (await sh(lab.main, `cat ${ALERT_DIR}/alerts.log 2>/dev/null || true`)).split("\n").filter((l) => l.split(" ")[1] === backup);
    /** `npm run status` as the operator runs it, timed from the command to its exit. */
    const status = (...args: string[]) => {
        const t0 = Date.now();
        const r = spawnSync("npm", ["run", "--silent", "status", "--", "--stack", STACK, ...args], { cwd: ROOT, encoding: "utf8", timeout: 60_000 });
        return { ...r, ms: Date.now() - t0 };
    };

    beforeAll(async () => {
        lab = loadLab();
        const main = lab.hosts[lab.main]!;
        scrapeUrl = `http://${main.addresses.operator}:9100/metrics`;
        // Debian's node_exporter, as an SRE installs it: the package, its default settings.
        const deb = fs.readFileSync(debianPackage("prometheus-node-exporter"));
        const inst = await hostExec(lab.main, "set -e; f=$(mktemp /root/rst-ne.XXXXXX.deb); cat >\"$f\"; DEBIAN_FRONTEND=noninteractive dpkg -i \"$f\" >/dev/null; rm -f \"$f\"; systemctl enable --now prometheus-node-exporter", { stdin: deb, timeoutMs: 120_000 });
        expect(inst.code, inst.stderr).toBe(0);
        await sh(lab.main, `install -d -m 0700 ${ALERT_DIR}; : > ${ALERT_DIR}/alerts.log`);
        await waitFor(async () => (await scrape().catch(() => "")).includes("node_exporter_build_info"), 30_000);
        stack = await openStack(STACK, { ...base, backups: [PI] });
    });

    afterAll(async () => {
        await setLink("backup1", "up", "lan", lab).catch(() => undefined);
        await stack?.destroy({ continueOnError: true }).catch(() => undefined);
        await hostExec(lab.main, `DEBIAN_FRONTEND=noninteractive dpkg --purge prometheus-node-exporter >/dev/null 2>&1; rm -rf ${ALERT_DIR}`).catch(() => undefined);
        await stack?.workspace.removeStack(STACK, { force: true }).catch(() => undefined);
        fs.rmSync(path.join(ROOT, `Pulumi.${STACK}.yaml`), { force: true });
        writeReport("observability.json", figures);
    });

    it("pulumi up: the timer runs, main's node_exporter serves up 1 for the backup with its port, key and session", async () => {
        const t0 = Date.now();
        const res = await stack.up();
        figures.upMs = Date.now() - t0;
        expect(res.summary.result).toBe("succeeded");
        expect((await sh(lab.main, "systemctl is-enabled reverse-ssh-tunnel-monitor.timer; systemctl is-active reverse-ssh-tunnel-monitor.timer")).trim()).toBe("enabled\nactive");
        figures.upOneAfterUpMs = await waitFor(async () => sample(await scrape(), 'reverse_ssh_tunnel_up{backup="pi"}') === "1", 45_000);
        const m = await scrape();
        const fp = (res.outputs.backups!.value as Record<string, { keyFingerprint: string }>).pi!.keyFingerprint;
        // node_exporter prints labels in name order (the monitor writes them so too).
        expect(m).toContain(`reverse_ssh_tunnel_info{backup="pi",key_fingerprint="${fp}",port="2222",tunnel_user="tunnel-pi"} 1`);
        // The session's start is the tunnel account's sshd process: before now, after the up began.
        const session = Number(sample(m, 'reverse_ssh_tunnel_session_start_timestamp_seconds{backup="pi"}'));
        expect(session * 1000).toBeGreaterThan(t0 - 5000);
        expect(session * 1000).toBeLessThanOrEqual(Date.now() + 5000);
        expect(sample(m, 'reverse_ssh_tunnel_key_expiry_timestamp_seconds{backup="pi"}')).toBeUndefined();
        expect(m).toContain("# TYPE reverse_ssh_tunnel_up gauge");
        writeReport("observability-metrics.txt", m.split("\n").filter((l) => l.includes("reverse_ssh_tunnel_")).join("\n"));
        // Written by rename: root's 0644 file, no temporary file left beside it.
        expect((await sh(lab.main, "ls -A /var/lib/prometheus/node-exporter")).trim()).toBe("reverse_ssh_tunnel.prom");
        expect((await sh(lab.main, "stat -c '%U %a' /var/lib/prometheus/node-exporter/reverse_ssh_tunnel.prom")).trim()).toBe("root 644");
        expect(res.outputs.monitor!.value).toEqual({ timer: "reverse-ssh-tunnel-monitor.timer", statusCommand: "/usr/local/sbin/reverse-ssh-tunnel-monitor --status", textfile: "/var/lib/prometheus/node-exporter/reverse_ssh_tunnel.prom" });
        expect(await alerts("pi")).toEqual([]);
    });

    it("npm run status: one line for the backup, up, its port; --json for scripts", async () => {
        const r = status();
        expect(r.status, r.stderr).toBe(0);
        figures.statusOneBackupMs = r.ms;
        expect(r.stdout).toMatch(/^BACKUP\s+STATE\s+SINCE \(UTC\)\s+PORT\s+KEY EXPIRES\n/);
        expect(r.stdout).toMatch(/^pi\s+up\s+\d{4}-\d\d-\d\d \d\d:\d\d \(\S+\)\s+2222\s+never$/m);
        const j = status("--json");
        expect(j.status, j.stderr).toBe(0);
        const doc = JSON.parse(j.stdout) as { backups: Array<{ backup: string; up: boolean; listener: boolean; banner: boolean }> };
        expect(doc.backups.map((b) => [b.backup, b.up, b.listener, b.banner])).toEqual([["pi", true, true, true]]);
        writeReport("observability-status.txt", r.stdout);
    });

    it("cutting the backup's link: up 0 within 45 s, the alert command runs once; restored: up 1, the command runs once more", async () => {
        const cut = Date.now();
        await setLink("backup1", "down", "lan", lab);
        figures.downSeenMs = await waitFor(async () => sample(await scrape(), 'reverse_ssh_tunnel_up{backup="pi"}') === "0", 60_000, 1000);
        expect(figures.downSeenMs).toBeLessThanOrEqual(45_000);
        await waitFor(async () => (await alerts("pi")).length >= 1, 10_000);
        // One more round while still down: told once, not at every round.
        const lastCheck = async () => Number(sample(await scrape(), "reverse_ssh_tunnel_last_check_timestamp_seconds"));
        const seen = await lastCheck();
        await waitFor(async () => (await lastCheck()) > seen, 45_000, 1000);
        expect(sample(await scrape(), 'reverse_ssh_tunnel_up{backup="pi"}')).toBe("0");
        const down = await alerts("pi");
        expect(down).toHaveLength(1);
        expect(down[0]).toMatch(/^down pi \d+ 2222$/);
        figures.cutMs = Date.now() - cut;

        const restored = Date.now();
        await setLink("backup1", "up", "lan", lab);
        figures.upSeenAfterRestoreMs = await waitFor(async () => sample(await scrape(), 'reverse_ssh_tunnel_up{backup="pi"}') === "1", 90_000, 1000);
        await waitFor(async () => (await alerts("pi")).length >= 2, 10_000);
        const all = await alerts("pi");
        expect(all).toHaveLength(2);
        // Told how long it was down: from the round that saw it down to the one that saw it back.
        expect(all[1]).toMatch(/^up pi \d+ 2222$/);
        const downFor = Number(all[1]!.split(" ")[2]);
        expect(downFor).toBeGreaterThan(0);
        expect(downFor * 1000).toBeLessThanOrEqual(Date.now() - cut + 1000);
        figures.restoreMs = Date.now() - restored;
    });

    it("npm run status with 20 backups listed on main prints the table in under 5 s", async () => {
        // Another owner's list of 19 more backups (ports where nothing listens), installed
        // with the real install script as a second stack would: main now monitors 20.
        const owner = "organization/other-project/other-stack/main";
        const settings = resolveMonitorSettings({ alertCommand: ALERT_COMMAND, alertAfterSeconds: 0 });
        const more = Array.from({ length: 19 }, (_, i) => ({ name: `extra${i + 1}`, port: 2501 + i, tunnelUser: "nobody", keyFingerprint: `SHA256:${"B".repeat(43)}`, keyExpiry: "20991231" }));
        await runScript(lab.main, renderMonitorInstallScript(settings, owner, more), { lab });
        const r = status();
        expect(r.status, r.stderr).toBe(0);
        figures.statusTwentyBackupsMs = r.ms;
        const rows = r.stdout.split("\n").filter((l) => /^(pi|extra\d+)\s/.test(l));
        expect(rows).toHaveLength(20);
        expect(r.stdout).toMatch(/^20 backup\(s\): 1 up, 19 down, /m);
        expect(r.ms).toBeLessThan(5000);
        writeReport("observability-status-20.txt", r.stdout);
        // That owner's list goes: the timer stays for ours, and the 19 series go at once.
        await runScript(lab.main, renderMonitorRemoveScript(settings, owner), { lab });
        const m = await scrape();
        expect(m).not.toContain('backup="extra1"');
        expect(sample(m, "reverse_ssh_tunnel_backups")).toBe("1");
        expect((await sh(lab.main, "systemctl is-active reverse-ssh-tunnel-monitor.timer")).trim()).toBe("active");
    });

    it("destroy: the backup's series and, with the last tunnel on main, the timer and its files are gone", async () => {
        const res = await stack.destroy();
        expect(res.summary.result).toBe("succeeded");
        const m = await scrape();
        expect(m).toContain("node_exporter_build_info");
        expect(m).not.toContain("reverse_ssh_tunnel_");
        expect((await sh(lab.main, "systemctl list-unit-files 'reverse-ssh-tunnel-monitor*' --no-legend | wc -l")).trim()).toBe("0");
        expect((await sh(lab.main, "ls -d /etc/reverse-ssh-tunnel /var/lib/reverse-ssh-tunnel-monitor /usr/local/sbin/reverse-ssh-tunnel-monitor 2>/dev/null | wc -l")).trim()).toBe("0");
        // Removing the tunnel told nothing: its list entry went before the tunnel did.
        expect(await alerts("pi")).toHaveLength(2);
    });
});
