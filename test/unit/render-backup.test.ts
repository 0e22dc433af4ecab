import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { describe, expect, it } from "vitest";
import { CLIENT_TIMING, FIND_BACKUP_SSHD, parseBackupHostKeys, parseTunnelRun, renderKnownHosts, renderServiceInstallScript, renderSshClientConfig, renderUnit, servicePaths, tunnelRunScript } from "../../components/service";
import { CLIENT_ALIVE } from "../../components/sshd";
import { SAMPLE_KEY } from "../support/fixtures";
import { SERVICE_ARGS } from "../support/render-all";

const dir = fs.mkdtempSync(path.join(os.tmpdir(), "rst-unit-"));

/** ssh -G prints the effective client settings for a host: what ssh will really do. */
function sshG(config: string): Map<string, string[]> {
    const file = path.join(dir, "ssh_config");
    fs.writeFileSync(file, config);
    const r = spawnSync("ssh", ["-G", "-F", file, "reverse-ssh-tunnel-main"], { encoding: "utf8" });
    expect(r.status, r.stderr).toBe(0);
    const m = new Map<string, string[]>();
    for (const line of r.stdout.split("\n")) {
        const [k, ...v] = line.split(" ");
        if (k) m.set(k, [...(m.get(k) ?? []), v.join(" ")]);
    }
    return m;
}

describe("ssh client config (checked with ssh -G)", () => {
    const g = sshG(renderSshClientConfig(SERVICE_ARGS));
    it("dials main as the tunnel user with main's key pinned under an alias", () => {
        expect(g.get("hostname")).toEqual(["main.example.org"]);
        expect(g.get("port")).toEqual(["2200"]);
        expect(g.get("user")).toEqual(["tunnel-pi"]);
        expect(g.get("stricthostkeychecking")).toEqual(["true"]);
        expect(g.get("hostkeyalias")).toEqual([servicePaths("pi").hostAlias]);
        expect(g.get("userknownhostsfile")).toEqual([servicePaths("pi").knownHosts]);
        expect(g.get("globalknownhostsfile")).toEqual(["/dev/null"]);
        expect(g.get("batchmode")).toEqual(["yes"]);
    });
    it("uses no agent and no password, and forwards nothing else", () => {
        expect(g.get("identitiesonly")).toEqual(["yes"]);
        expect(g.get("identityagent")).toEqual(["none"]);
        expect(g.get("forwardagent")).toEqual(["no"]);
        expect(g.get("forwardx11")).toEqual(["no"]);
        expect(g.get("passwordauthentication")).toEqual(["no"]);
        expect(g.get("localforward")).toBeUndefined();
        expect(g.get("dynamicforward")).toBeUndefined();
    });
    it("requests exactly its listeners on main's loopback and exits if one fails", () => {
        // IPv4 loopback only: a squatter on [::1]:PORT cannot take main's connections.
        expect(g.get("remoteforward")).toEqual(["[127.0.0.1]:2222 [127.0.0.1]:22", "[127.0.0.1]:8443 [192.168.1.10]:443"]);
        expect(g.get("exitonforwardfailure")).toEqual(["yes"]);
    });
    it("detects a dead link before main frees the port and bounds a hung connect", () => {
        expect(g.get("serveraliveinterval")).toEqual([String(CLIENT_TIMING.serverAliveInterval)]);
        expect(g.get("serveralivecountmax")).toEqual([String(CLIENT_TIMING.serverAliveCountMax)]);
        expect(g.get("connecttimeout")).toEqual([String(CLIENT_TIMING.connectTimeout)]);
        const detect = CLIENT_TIMING.serverAliveInterval * CLIENT_TIMING.serverAliveCountMax;
        const serverFrees = CLIENT_ALIVE.interval * (CLIENT_ALIVE.countMax + 1);
        // Budget: recovery after a fault ends <= ConnectTimeout + RestartSec + handshake < 30 s.
        expect(CLIENT_TIMING.connectTimeout + CLIENT_TIMING.restartSec).toBeLessThan(30);
        expect(detect).toBeLessThanOrEqual(serverFrees);
    });
    it("pins main's key under the alias only", () => {
        expect(renderKnownHosts(SERVICE_ARGS)).toBe(`${servicePaths("pi").hostAlias} ${SAMPLE_KEY}\n`);
    });
});

describe("systemd unit", () => {
    const unit = renderUnit(SERVICE_ARGS);
    const file = path.join(dir, "reverse-ssh-tunnel-pi.service");
    fs.writeFileSync(file, unit);

    it("waits for the network and restarts forever", () => {
        expect(unit).toMatch(/^Wants=network-online\.target$/m);
        expect(unit).toMatch(/^After=network-online\.target$/m);
        expect(unit).toMatch(/^Restart=always$/m);
        expect(unit).toMatch(/^StartLimitIntervalSec=0$/m);
    });
    it("runs ssh as its own unprivileged user with the key from a credential", () => {
        expect(unit).toMatch(/^User=rst-pi$/m);
        expect(unit).toMatch(/^LoadCredential=tunnel-key:\/etc\/reverse-ssh-tunnel\/pi\/id_tunnel$/m);
        expect(unit).toMatch(/^ExecStart=\/usr\/bin\/ssh -N -F \/etc\/reverse-ssh-tunnel\/pi\/ssh_config -i %d\/tunnel-key reverse-ssh-tunnel-main$/m);
    });
    it("passes systemd-analyze verify", () => {
        const r = spawnSync("systemd-analyze", ["verify", file], { encoding: "utf8" });
        expect(r.error).toBeUndefined();
        expect(r.stderr.split("\n").filter((l) => l.includes("reverse-ssh-tunnel-pi"))).toEqual([]);
        expect(r.status).toBe(0);
    });
    it("has a systemd-analyze security exposure of at most 1.5", () => {
        const r = spawnSync("systemd-analyze", ["security", "--offline=true", file], { encoding: "utf8" });
        const m = /Overall exposure level for \S+: ([\d.]+)/.exec(r.stdout);
        expect(m, r.stdout + r.stderr).not.toBeNull();
        expect(Number(m?.[1])).toBeLessThanOrEqual(1.5);
    });
    it("restricts egress to main when main is an IP literal", () => {
        const u = renderUnit({ ...SERVICE_ARGS, mainHost: "198.51.100.7" });
        expect(u).toMatch(/^IPAddressDeny=any$/m);
        // The extra forward's LAN target stays reachable.
        expect(u).toMatch(/^IPAddressAllow=localhost 198\.51\.100\.7 192\.168\.1\.10$/m);
        expect(u).toMatch(/^RestrictAddressFamilies=AF_INET AF_INET6$/m);
    });
    it("pins nothing when a forward's target is a name (it cannot be pinned by address)", () => {
        const u = renderUnit({ ...SERVICE_ARGS, mainHost: "198.51.100.7", forwards: [{ remotePort: 2222 }, { remotePort: 8443, localHost: "nas.lan", localPort: 443 }] });
        expect(u).not.toMatch(/^IPAddress/m);
    });
    it("refuses IPv6 zone IDs, which ssh_config and systemd would expand as % tokens", () => {
        expect(() => renderUnit({ ...SERVICE_ARGS, mainHost: "fe80::1%eth0" })).toThrow(/^mainHost: .*zone IDs/);
    });
    it("refuses unsafe input", () => {
        expect(() => renderUnit({ ...SERVICE_ARGS, name: "pi;reboot" })).toThrow(/^name: invalid name/);
        expect(() => renderUnit({ ...SERVICE_ARGS, mainHost: "main\nExecStartPre=/bin/sh" })).toThrow(/^mainHost: invalid host/);
        expect(() => renderUnit({ ...SERVICE_ARGS, forwards: [{ remotePort: 80 }] })).toThrow(/forwards\[0\]\.remotePort/);
        expect(() => renderUnit({ ...SERVICE_ARGS, mainHostKeys: [] })).toThrow(/never trust on first use/);
    });
});

describe("a ReverseTunnel's service reads where the backup's sshd listens (backupFacts)", () => {
    /** Runs the finding section with `sshd -T` answering `listen` (systemd's sockets answering nothing). */
    function find(listen: string[], sshdPort = ""): { status: number | null; target: string; stderr: string } {
        const bin = fs.mkdtempSync(path.join(dir, "bin-"));
        fs.writeFileSync(path.join(bin, "systemctl"), "#!/bin/sh\nexit 1\n", { mode: 0o755 });
        fs.writeFileSync(path.join(bin, "sshd"), `#!/bin/sh\nprintf '%s\\n' ${listen.map((l) => `'listenaddress ${l}'`).join(" ")}\n`, { mode: 0o755 });
        const script = `rst_fail() { echo "error: $*" >&2; exit 1; }\nrst_sshd_port=${sshdPort}\n${FIND_BACKUP_SSHD}\nprintf '%s|%s' "$rst_target" "$rst_target_allow"\n`;
        const r = spawnSync("bash", ["-c", script], { encoding: "utf8", env: { PATH: `${bin}:/usr/bin:/bin` } });
        return { status: r.status, target: r.stdout, stderr: r.stderr };
    }

    it.each([
        [["0.0.0.0:22", "[::]:22"], "", "127.0.0.1:22|"],
        [["192.0.2.5:2022", "127.0.0.1:2023"], "", "127.0.0.1:2023|"],
        [["192.0.2.5:2022"], "", "192.0.2.5:2022| 192.0.2.5"],
        [["[2001:db8::5]:22"], "", "[2001:db8::5]:22| 2001:db8::5"],
        [["0.0.0.0:22"], "2222", "127.0.0.1:2222|"],
    ])("sshd -T listening on %j (backupSshPort %j): the forward targets %j", (listen, port, want) => {
        expect(find(listen, port)).toMatchObject({ status: 0, target: want });
    });

    it("an answer that is not an address and a port fails, naming backupSshPort, and nothing of it reaches the files", () => {
        for (const listen of [[], ["evil$(touch /tmp/x):22"], ["192.0.2.5:99999"], ["nas.lan:22"]]) {
            const r = find(listen);
            expect(r.status, JSON.stringify(listen)).toBe(1);
            expect(r.stderr).toMatch(/could not find where this backup's sshd listens .*; set backupSshPort/);
        }
    });

    it("the rendered files hold stand-ins the install fills: the forward's target, and a non-loopback target in the unit's IPAddressAllow", () => {
        const args = { ...SERVICE_ARGS, mainHost: "198.51.100.7", forwards: [{ remotePort: 2222 }], backupFacts: { loginUser: "pi" } };
        expect(renderSshClientConfig(args)).toContain("    RemoteForward 127.0.0.1:2222 RST_BACKUP_SSHD_TARGET\n");
        expect(renderUnit(args)).toContain("IPAddressAllow=localhost 198.51.100.7RST_BACKUP_SSHD_ALLOW\n");
        const script = renderServiceInstallScript(args);
        expect(script).toContain('<<<"${rst_text//RST_BACKUP_SSHD_TARGET/"$rst_target"}"');
        expect(script).toContain('<<<"${rst_text//RST_BACKUP_SSHD_ALLOW/"$rst_target_allow"}"');
        expect(script).toContain("rst_login=pi\nrst_sshd_port=\n");
        expect(() => renderServiceInstallScript({ ...args, backupFacts: { loginUser: "pi;x" } })).toThrow(/^loginUser: /);
        expect(() => renderServiceInstallScript({ ...args, backupFacts: { loginUser: "pi", sshPort: 0 } })).toThrow(/^backupSshPort: /);
    });

    it("with main waiting for the tunnel (awaitedByMain) the install does not wait 5 s itself; it names the unit's run, which main's next command carries", () => {
        const args = { ...SERVICE_ARGS, mainHost: "198.51.100.7", forwards: [{ remotePort: 2222 }], backupFacts: { loginUser: "pi" } };
        const waiting = renderServiceInstallScript(args);
        const awaited = renderServiceInstallScript({ ...args, awaitedByMain: true });
        expect(waiting).toContain("ActiveEnterTimestampMonotonic");
        expect(awaited).not.toContain("ActiveEnterTimestampMonotonic");
        expect(awaited).toContain('rst_note "tunnel unit run: $(systemctl show -P InvocationID "$rst_unit")"');
        // The note as systemctl fills it in, and an install that scheduled its restart (no run named).
        const run = "4f6c2d0e9b8a47c1a2b3c4d5e6f70819";
        expect(parseTunnelRun(`reverse-ssh-tunnel: host key of this backup: ${SAMPLE_KEY}\nreverse-ssh-tunnel: tunnel unit run: ${run}\n`)).toBe(run);
        expect(parseTunnelRun("reverse-ssh-tunnel: reverse-ssh-tunnel-pi.service restarts in 2 s\n")).toBe("");
        expect(parseTunnelRun("reverse-ssh-tunnel: tunnel unit run: $(id)\n")).toBe("");
        expect(tunnelRunScript(run)).toContain(`rst_tunnel_run=${run}\n`);
        expect(tunnelRunScript("")).toContain("rst_tunnel_run=''\n");
        expect(() => tunnelRunScript("x;id")).toThrow(/invalid tunnel unit run/);
    });

    it("the backup's host keys are read from the install's notes, nothing else of its output", () => {
        const out = `reverse-ssh-tunnel: host key of this backup: ${SAMPLE_KEY}\nreverse-ssh-tunnel: reverse-ssh-tunnel-pi.service is up\n`;
        expect(parseBackupHostKeys("backup host keys", out)).toEqual([SAMPLE_KEY]);
        expect(() => parseBackupHostKeys("backup host keys", "reverse-ssh-tunnel: reverse-ssh-tunnel-pi.service is up\n")).toThrow(/^backup host keys: no host keys found/);
    });
});
