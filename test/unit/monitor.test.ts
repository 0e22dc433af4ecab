/**
 * The health timer's pieces that run without a host: the decision core (state,
 * alerts with their rate limit, the Prometheus textfile, linted by promtool) run
 * with this machine's awk as main runs it, the unit files, the settings and lists,
 * the status table, and the shipped alerting rules (promtool check/test rules).
 */
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { describe, expect, it } from "vitest";
import {
    formatDuration,
    METRIC_PREFIX,
    MONITOR_CORE_AWK,
    parseFleetStatus,
    renderMonitorCommand,
    renderMonitorEntries,
    renderMonitorInstallScript,
    renderMonitorRemoveScript,
    renderMonitorService,
    renderMonitorSettings,
    renderMonitorTimer,
    renderStatusTable,
    resolveMonitorSettings,
    FleetStatus,
    monitorEntriesPath,
} from "../../components/health";
import { ConfigError } from "../../components/validation";
import { promtool } from "../support/debian";

const FP = `SHA256:${"Ab1+/".repeat(8)}xyz`;
const dir = fs.mkdtempSync(path.join(os.tmpdir(), "rst-monitor-"));
const ROOT = path.resolve(__dirname, "../..");

/** One check line: name port user fingerprint expiry listener banner session. */
const check = (name: string, port: number, listener: 0 | 1, banner: 0 | 1, extra: { expiry?: number; session?: number } = {}) =>
    [name, port, `tunnel-${name}`, FP, extra.expiry ?? "", listener, banner, listener ? (extra.session ?? 1_700_000_000) : ""].join("\t");

interface Round {
    state: string;
    alerts: string[][];
    metrics: string;
}

/** Runs the core once with awk, as main's monitor does, and returns its three outputs. */
function round(previousState: string, checks: string[], now: number, after = 300, interval = 3600): Round {
    const files = { prev: path.join(dir, "prev"), checks: path.join(dir, "checks"), state: path.join(dir, "state"), alerts: path.join(dir, "alerts"), metrics: path.join(dir, "metrics") };
    fs.writeFileSync(files.prev, previousState);
    fs.writeFileSync(files.checks, checks.map((l) => `${l}\n`).join(""));
    for (const f of [files.state, files.alerts, files.metrics]) fs.writeFileSync(f, "");
    const r = spawnSync(
        "awk",
        ["-v", `now=${now}`, "-v", `after=${after}`, "-v", `interval=${interval}`, "-v", `state_out=${files.state}`, "-v", `alerts_out=${files.alerts}`, "-v", `metrics_out=${files.metrics}`, MONITOR_CORE_AWK, files.prev, files.checks],
        { encoding: "utf8" },
    );
    expect(r.stderr).toBe("");
    expect(r.status).toBe(0);
    const alerts = fs.readFileSync(files.alerts, "utf8").split("\n").filter(Boolean).map((l) => l.split("\t"));
    return { state: fs.readFileSync(files.state, "utf8"), alerts, metrics: fs.readFileSync(files.metrics, "utf8") };
}

/** Runs several rounds in a row (state carried over); returns each round's outputs. */
function rounds(steps: Array<{ at: number; checks: string[] }>, after = 300, interval = 3600): Round[] {
    let state = "";
    return steps.map((s) => {
        const r = round(state, s.checks, s.at, after, interval);
        state = r.state;
        return r;
    });
}

/** Value of a sample line `NAME{backup="B"} V` in a textfile. */
function sample(metrics: string, name: string, backup?: string): string | undefined {
    const prefix = backup === undefined ? `${METRIC_PREFIX}${name} ` : `${METRIC_PREFIX}${name}{backup="${backup}"} `;
    return metrics.split("\n").find((l) => l.startsWith(prefix))?.slice(prefix.length);
}

describe("monitor core: metrics textfile", () => {
    const T = 1_800_000_000;
    const r = round("", [check("pi", 2222, 1, 1, { expiry: T + 86400 * 20, session: T - 600 }), check("garage", 2223, 1, 0), check("shed", 2224, 0, 0)], T);

    it("passes promtool check metrics (exposition format and naming conventions)", () => {
        const p = spawnSync(promtool(), ["check", "metrics"], { input: r.metrics, encoding: "utf8" });
        expect(p.stdout + p.stderr).toBe("");
        expect(p.status).toBe(0);
    });

    it("has HELP and TYPE for every metric, names in base units", () => {
        const names = new Set(r.metrics.split("\n").filter((l) => l !== "" && !l.startsWith("#")).map((l) => /^[a-z_]+/.exec(l)![0]));
        for (const n of names) {
            expect(n.startsWith(METRIC_PREFIX)).toBe(true);
            expect(r.metrics).toContain(`# HELP ${n} `);
            expect(r.metrics).toContain(`# TYPE ${n} gauge`);
            if (/timestamp|duration/.test(n)) expect(n).toMatch(/_seconds$/);
        }
    });

    it("up only when the listener is the tunnel's and the banner answered", () => {
        expect(sample(r.metrics, "up", "pi")).toBe("1");
        expect(sample(r.metrics, "up", "garage")).toBe("0");
        expect(sample(r.metrics, "listener_up", "garage")).toBe("1");
        expect(sample(r.metrics, "ssh_banner_up", "garage")).toBe("0");
        expect(sample(r.metrics, "up", "shed")).toBe("0");
    });

    it("per backup: change time, age, session start, key expiry, port and fingerprint", () => {
        expect(sample(r.metrics, "last_change_timestamp_seconds", "pi")).toBe(String(T));
        expect(sample(r.metrics, "state_duration_seconds", "pi")).toBe("0");
        expect(sample(r.metrics, "session_start_timestamp_seconds", "pi")).toBe(String(T - 600));
        expect(sample(r.metrics, "key_expiry_timestamp_seconds", "pi")).toBe(String(T + 86400 * 20));
        // Absent, not 0, without a session or an expiry: a 0 would read as "expired in 1970".
        expect(sample(r.metrics, "session_start_timestamp_seconds", "shed")).toBeUndefined();
        expect(sample(r.metrics, "key_expiry_timestamp_seconds", "garage")).toBeUndefined();
        expect(r.metrics).toContain(`${METRIC_PREFIX}info{backup="pi",key_fingerprint="${FP}",port="2222",tunnel_user="tunnel-pi"} 1`);
        expect(sample(r.metrics, "backups")).toBe("3");
        expect(sample(r.metrics, "last_check_timestamp_seconds")).toBe(String(T));
    });

    it("the age counts from the last change, not from each round", () => {
        const [, second, third] = rounds([
            { at: T, checks: [check("pi", 2222, 1, 1)] },
            { at: T + 30, checks: [check("pi", 2222, 1, 1)] },
            { at: T + 60, checks: [check("pi", 2222, 0, 0)] },
        ]);
        expect(sample(second!.metrics, "state_duration_seconds", "pi")).toBe("30");
        expect(sample(second!.metrics, "last_change_timestamp_seconds", "pi")).toBe(String(T));
        expect(sample(third!.metrics, "state_duration_seconds", "pi")).toBe("0");
        expect(sample(third!.metrics, "last_change_timestamp_seconds", "pi")).toBe(String(T + 60));
    });

    it("a backup no longer listed leaves the state and the textfile at the next round", () => {
        const [, second] = rounds([
            { at: T, checks: [check("pi", 2222, 1, 1), check("garage", 2223, 1, 1)] },
            { at: T + 30, checks: [check("pi", 2222, 1, 1)] },
        ]);
        expect(second!.metrics).not.toContain('backup="garage"');
        expect(second!.state).not.toMatch(/^garage\t/m);
        expect(sample(second!.metrics, "backups")).toBe("1");
    });

    it("no backups: a valid textfile with the count and the round's time", () => {
        const empty = round("", [], T);
        expect(sample(empty.metrics, "backups")).toBe("0");
        const p = spawnSync(promtool(), ["check", "metrics"], { input: empty.metrics, encoding: "utf8" });
        expect(p.status, p.stdout + p.stderr).toBe(0);
    });
});

describe("monitor core: alerts and their rate limit", () => {
    const T = 1_800_000_000;
    const up = check("pi", 2222, 1, 1);
    const down = check("pi", 2222, 0, 0);

    it("down longer than the threshold: one alert with the down time; recovery: one alert with how long it was down", () => {
        const r = rounds([
            { at: T, checks: [up] },
            { at: T + 30, checks: [down] },
            { at: T + 300, checks: [down] }, // down 270 s: not yet
            { at: T + 330, checks: [down] }, // 300 s: told
            { at: T + 360, checks: [down] }, // told already
            { at: T + 3000, checks: [down] },
            { at: T + 3030, checks: [up] }, // back after 3000 s
            { at: T + 3060, checks: [up] },
        ]);
        expect(r.map((x) => x.alerts)).toEqual([[], [], [], [["down", "pi", "300", "2222"]], [], [], [["up", "pi", "3000", "2222"]], []]);
    });

    it("a short outage (under the threshold) is never told, neither down nor up", () => {
        const r = rounds([
            { at: T, checks: [up] },
            { at: T + 30, checks: [down] },
            { at: T + 60, checks: [up] },
        ]);
        expect(r.flatMap((x) => x.alerts)).toEqual([]);
    });

    it("a flapping tunnel: the next outage waits until the interval since the last alert has passed, then is told once", () => {
        const r = rounds(
            [
                { at: T, checks: [down] }, // first sight, down: told at once with threshold 0
                { at: T + 30, checks: [up] }, // recovery: always told
                { at: T + 60, checks: [down] }, // within the interval of 600 s: waits
                { at: T + 90, checks: [up] }, // its recovery: nothing told, nothing to tell
                { at: T + 120, checks: [down] },
                { at: T + 600, checks: [down] }, // 570 s after the last alert: still waits
                { at: T + 630, checks: [down] }, // 600 s: told, down 510 s
                { at: T + 660, checks: [up] },
            ],
            0,
            600,
        );
        expect(r.map((x) => x.alerts)).toEqual([[["down", "pi", "0", "2222"]], [["up", "pi", "30", "2222"]], [], [], [], [], [["down", "pi", "510", "2222"]], [["up", "pi", "540", "2222"]]]);
    });

    it("each backup has its own rate limit", () => {
        const r = rounds(
            [
                { at: T, checks: [check("a", 2301, 1, 1), check("b", 2302, 1, 1)] },
                { at: T + 30, checks: [check("a", 2301, 0, 0), check("b", 2302, 0, 0)] },
            ],
            0,
            3600,
        );
        expect(r[1]!.alerts).toEqual([
            ["down", "a", "0", "2301"],
            ["down", "b", "0", "2302"],
        ]);
    });
});

describe("monitor settings, lists and scripts", () => {
    it("defaults: 30 s, Debian's textfile directory, 300 s threshold, 3600 s between alerts", () => {
        expect(resolveMonitorSettings()).toEqual({ intervalSeconds: 30, textfileDirectory: "/var/lib/prometheus/node-exporter", alertCommand: "", alertAfterSeconds: 300, alertIntervalSeconds: 3600 });
    });

    it("refuses bad settings, naming them", () => {
        expect(() => resolveMonitorSettings({ intervalSeconds: 2 })).toThrow(/monitor\.intervalSeconds/);
        expect(() => resolveMonitorSettings({ intervalSeconds: 30.5 })).toThrow(ConfigError);
        expect(() => resolveMonitorSettings({ textfileDirectory: "relative/dir" })).toThrow(/monitor\.textfileDirectory/);
        expect(() => resolveMonitorSettings({ textfileDirectory: "/var/lib/../tmp" })).toThrow(/monitor\.textfileDirectory/);
        expect(() => resolveMonitorSettings({ textfileDirectory: "/var/lib/x y" })).toThrow(/monitor\.textfileDirectory/);
        expect(() => resolveMonitorSettings({ alertCommand: "a\0b" })).toThrow(/monitor\.alertCommand/);
        expect(() => resolveMonitorSettings({ alertAfterSeconds: -1 })).toThrow(/monitor\.alertAfterSeconds/);
    });

    it("the alert command reaches the settings file as one quoted word, whatever it holds", () => {
        const cmd = `curl -fsS -d "backup $RST_BACKUP is $RST_EVENT" https://ntfy.example/x'y; rm -rf /`;
        const file = renderMonitorSettings(resolveMonitorSettings({ alertCommand: cmd }));
        const r = spawnSync("bash", ["-c", `${file}\nprintf '%s' "$alert_command"`], { encoding: "utf8" });
        expect(r.stdout).toBe(cmd);
    });

    it("lists: validated, one line per backup, the key's first refused day", () => {
        const b = { name: "pi", port: 2222, tunnelUser: "tunnel-pi", keyFingerprint: FP };
        expect(renderMonitorEntries("org/proj/stack/main", [{ ...b, keyExpiry: "20301231" }, { ...b, name: "garage", port: 2223, tunnelUser: "tunnel-garage", keyExpiry: "" }]).split("\n").slice(1)).toEqual([
            `pi\t2222\ttunnel-pi\t${FP}\t20310101`,
            `garage\t2223\ttunnel-garage\t${FP}\t-`,
            "",
        ]);
        expect(() => renderMonitorEntries("o", [{ ...b, keyFingerprint: "SHA256:x\tinjected" }])).toThrow(/keyFingerprint/);
        expect(() => renderMonitorEntries("o", [{ ...b, name: "Bad Name" }])).toThrow(/name/);
        expect(() => renderMonitorEntries("o", [b, b])).toThrow(/duplicate/);
        expect(() => renderMonitorEntries("o", [{ ...b, port: 22 }])).toThrow(/port/);
    });

    it("one list file per owner, named safely", () => {
        expect(monitorEntriesPath("organization/reverse-ssh-tunnel/main/main")).toMatch(/^\/etc\/reverse-ssh-tunnel\/monitor\.d\/organization-reverse-ssh-tunnel-main-main-[0-9a-f]{10}\.tsv$/);
        expect(monitorEntriesPath("a/b")).not.toBe(monitorEntriesPath("a-b"));
        expect(monitorEntriesPath("../../etc/x")).toMatch(/^\/etc\/reverse-ssh-tunnel\/monitor\.d\/etc-x-[0-9a-f]{10}\.tsv$/);
    });

    it("the monitor command embeds the core unchanged and writes the textfile by rename in the same directory", () => {
        const cmd = renderMonitorCommand();
        expect(cmd).toContain(MONITOR_CORE_AWK.trimEnd());
        expect(cmd).toMatch(/mktemp "\$textfile_dir\/\.\$textfile_name\.XXXXXX"/);
        expect(cmd).toContain('mv -fT -- "$metrics_tmp" "$textfile_dir/$textfile_name"');
        expect(cmd).toContain("world-writable");
    });

    it("install keeps the settings root-only and runs a round; remove keeps the timer while other lists remain", () => {
        const s = resolveMonitorSettings({ alertCommand: "logger down" });
        const install = renderMonitorInstallScript(s, "o/p/s/main", [{ name: "pi", port: 2222, tunnelUser: "tunnel-pi", keyFingerprint: FP }]);
        expect(install).toContain('rst_install_file "$rst_settings" 600 root root');
        expect(install).toContain('systemctl start "$rst_service"');
        const remove = renderMonitorRemoveScript(s, "o/p/s/main");
        expect(remove).toContain('rst_remove "$rst_entries"');
        expect(remove).toMatch(/rst_left" -gt 0 \][\s\S]*kept[\s\S]*else[\s\S]*disable --now/);
        expect(remove).toContain("/var/lib/prometheus/node-exporter/reverse_ssh_tunnel.prom");
    });
});

describe("monitor units", () => {
    it("the timer fires every interval after the last round, to the second", () => {
        const t = renderMonitorTimer(30);
        expect(t).toMatch(/^OnUnitActiveSec=30s$/m);
        expect(t).toMatch(/^OnBootSec=30s$/m);
        expect(t).toMatch(/^AccuracySec=1s$/m);
        expect(t).toMatch(/^WantedBy=timers\.target$/m);
        expect(() => renderMonitorTimer(0)).toThrow();
    });

    it("the service is a oneshot with a root-only state directory", () => {
        const s = renderMonitorService();
        expect(s).toMatch(/^Type=oneshot$/m);
        expect(s).toMatch(/^ExecStart=\/usr\/local\/sbin\/reverse-ssh-tunnel-monitor$/m);
        expect(s).toMatch(/^StateDirectory=reverse-ssh-tunnel-monitor$/m);
        expect(s).toMatch(/^StateDirectoryMode=0700$/m);
    });

    it("both pass systemd-analyze verify", () => {
        const udir = fs.mkdtempSync(path.join(dir, "units-"));
        fs.writeFileSync(path.join(udir, "reverse-ssh-tunnel-monitor.service"), renderMonitorService().replace("/usr/local/sbin/reverse-ssh-tunnel-monitor", "/bin/true"));
        fs.writeFileSync(path.join(udir, "reverse-ssh-tunnel-monitor.timer"), renderMonitorTimer(30));
        const r = spawnSync("systemd-analyze", ["verify", "--man=no", path.join(udir, "reverse-ssh-tunnel-monitor.timer"), path.join(udir, "reverse-ssh-tunnel-monitor.service")], { encoding: "utf8" });
        expect(r.error, "systemd-analyze must be installed").toBeUndefined();
        expect(r.stderr.split("\n").filter((l) => /reverse-ssh-tunnel-monitor/.test(l))).toEqual([]);
        expect(r.status).toBe(0);
    });
});

describe("fleet status table", () => {
    const now = 1_800_000_000;
    const entry = (i: number, over: Partial<FleetStatus["backups"][number]> = {}) => ({
        backup: `b${String(i).padStart(3, "0")}`,
        up: true,
        since: now - 3600 * i,
        port: 2300 + i,
        tunnelUser: `tunnel-b${i}`,
        keyFingerprint: FP,
        keyExpiry: null,
        sessionStart: now - 3600 * i,
        listener: true,
        banner: true,
        checked: now - 12,
        ...over,
    });

    it("one line per backup, down first, then keys expiring within 14 days; a summary line", () => {
        const status: FleetStatus = {
            now,
            backups: [entry(1), entry(2, { up: false, since: now - 95, listener: false, banner: false, sessionStart: null }), entry(3, { keyExpiry: now + 86400 * 3 }), entry(4, { keyExpiry: now + 86400 * 90 })],
        };
        const lines = renderStatusTable(status).trimEnd().split("\n");
        expect(lines[0]).toMatch(/^BACKUP\s+STATE\s+SINCE \(UTC\)\s+PORT\s+KEY EXPIRES$/);
        expect(lines.slice(1, 5).map((l) => l.split(/\s+/)[0])).toEqual(["b002", "b003", "b001", "b004"]);
        expect(lines[1]).toMatch(/^b002\s+DOWN\s+2027-01-15 07:58 \(1m35s\)\s+2302\s+never$/);
        expect(lines[2]).toMatch(/2303\s+2027-01-18 \(in 3d0h, soon\)$/);
        expect(lines[5]).toBe("4 backup(s): 3 up, 1 down, 1 key(s) expiring within 14d0h; checked 12s ago");
    });

    it("names with numbers sort as a person counts: extra2 before extra10", () => {
        const status: FleetStatus = { now, backups: ["extra10", "extra2", "extra1"].map((backup, i) => ({ ...entry(i + 1), backup })) };
        expect(renderStatusTable(status).split("\n").slice(1, 4).map((l) => l.split(/\s+/)[0])).toEqual(["extra1", "extra2", "extra10"]);
    });

    it("100 backups: 102 lines, aligned columns", () => {
        const status: FleetStatus = { now, backups: Array.from({ length: 100 }, (_, i) => entry(i + 1)) };
        const lines = renderStatusTable(status).trimEnd().split("\n");
        expect(lines).toHaveLength(102);
        const col = lines[0]!.indexOf("PORT");
        for (const l of lines.slice(1, 101)) expect(l.slice(col, col + 4)).toMatch(/^2[34]\d\d$/);
    });

    it("parses the monitor's JSON and refuses anything else", () => {
        const doc = JSON.stringify({ now, backups: [entry(1)] });
        expect(parseFleetStatus(doc).backups[0]!.backup).toBe("b001");
        expect(() => parseFleetStatus("reverse-ssh-tunnel-monitor: error: run as root")).toThrow(/no JSON/);
        expect(() => parseFleetStatus(JSON.stringify({ now, backups: [{ ...entry(1), up: "yes" }] }))).toThrow(/backups\[0\]/);
    });

    it("durations", () => {
        expect([5, 65, 3700, 90000].map(formatDuration)).toEqual(["5s", "1m05s", "1h01m", "1d1h"]);
    });
});

describe("alerting rules (monitoring/reverse-ssh-tunnel.rules.yml)", () => {
    const rulesDir = path.join(ROOT, "monitoring");

    it("promtool check rules", () => {
        const r = spawnSync(promtool(), ["check", "rules", "reverse-ssh-tunnel.rules.yml"], { cwd: rulesDir, encoding: "utf8" });
        expect(r.stdout + r.stderr).toContain("SUCCESS: 3 rules found");
        expect(r.status).toBe(0);
    });

    it("promtool test rules: tunnel down for 5 minutes, key expiring within 14 days, stale monitor", () => {
        const r = spawnSync(promtool(), ["test", "rules", "reverse-ssh-tunnel.rules.test.yml"], { cwd: rulesDir, encoding: "utf8" });
        expect(r.stdout + r.stderr).toMatch(/SUCCESS/);
        expect(r.status).toBe(0);
    });

    it("every metric the rules use is one the monitor writes", () => {
        const rules = fs.readFileSync(path.join(rulesDir, "reverse-ssh-tunnel.rules.yml"), "utf8");
        const used = new Set(rules.match(/reverse_ssh_tunnel_[a-z_]+/g));
        const written = round("", [check("pi", 2222, 1, 1, { expiry: 1 })], 1).metrics;
        for (const m of used) expect(written, m).toContain(`# TYPE ${m} gauge`);
    });
});
