/**
 * The promise on ordinary production mains (issue "Hold the promise on ordinary real
 * mains"): each test names the finding it covers and ran red on the code before the
 * fix. Real sshd and systemd on the lab's hosts; the leaked key is used for real.
 */
import { spawn } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import * as c from "../support/internals";
import { renderScript } from "../../components/shell";
import { LabDescription, loadLab } from "../../lab/client";
import { applyTunnel, destroyTunnel, generateTunnelKey, LabTunnel, runScript } from "../support/apply";
import { keyRefused, sh, tunnelWorks, waitFor } from "../support/hosts";

const T: LabTunnel = { name: "rmain", backupHost: "backup3", port: 2240 };

describe.sequential("real mains: revocation, rotation, listeners, expiry, forwards", () => {
    let lab: LabDescription;

    beforeAll(() => {
        lab = loadLab();
    });
    afterEach(async () => {
        await destroyTunnel(T, {}, lab).catch(() => undefined);
        await sh(lab.main, "pkill -f 'rst-container-sleep' ; pkill -f 'rst-squatter'; true", { allowFail: true });
    });
    afterAll(async () => {
        await destroyTunnel(T, {}, lab).catch(() => undefined);
    });

    it("finding High/revocation: a container's process under the tunnel UID survives the revoke, the tunnel itself dies", async () => {
        const applied = await applyTunnel(T, lab);
        const uid = (await sh(lab.main, `id -u tunnel-${T.name}`)).trim();
        const gid = (await sh(lab.main, `id -g tunnel-${T.name}`)).trim();
        // Another PID namespace on main (what a container is), same numeric UID.
        await sh(
            lab.main,
            `setsid unshare --pid --fork --mount-proc setpriv --reuid=${uid} --regid=${gid} --clear-groups bash -c 'exec -a rst-container-sleep sleep 900' </dev/null >/dev/null 2>&1 &
             sleep 0.5; pgrep -u ${uid} -f rst-container-sleep >/dev/null`,
        );
        expect(await tunnelWorks(lab.main, T.name, T.backupHost)).toBe(true);
        const t0 = Date.now();
        await destroyTunnel(T, {}, lab);
        const revokeMs = Date.now() - t0;
        expect(keyRefused(lab, `tunnel-${T.name}`, applied.key.privateKey)).toBe(true);
        expect((await sh(lab.main, `ss -Hltn 'sport = :${T.port}'`)).trim()).toBe("");
        // The container's process is untouched (and did not make the revoke wait or fail).
        expect((await sh(lab.main, `pgrep -u ${uid} -f rst-container-sleep || true`)).trim()).not.toBe("");
        expect(revokeMs).toBeLessThan(60_000);
    });

    it("finding Medium/rotation+narrowing: only the previous key overlaps, with the new options and an expiry; the finalizer ends the old key's live sessions", async () => {
        const a = await applyTunnel(T, lab);
        const user = `tunnel-${T.name}`;
        const nat = lab.router.wanAddress;
        const account = (publicKey: string, extra: Partial<c.TunnelAccountRenderArgs>) =>
            runScript(lab.main, c.renderAccountApplyScript({ user, listenPorts: [T.port], publicKey, description: `backup ${T.name}`, keepPreviousKey: true, ...extra }), { lab });
        // Rotation while the backup has not switched yet: A stays, bounded.
        const b = generateTunnelKey();
        await account(b.publicKey, {});
        const lines = (await sh(lab.main, `grep -v '^#' ${c.authorizedKeysPath(user)}`)).trim().split("\n");
        expect(lines).toHaveLength(2);
        expect(lines[0]).toContain(b.publicKey);
        expect(lines[1]).toContain(a.key.publicKey);
        const exp = /expiry-time="(\d{12})Z"/.exec(lines[1]!)?.[1] ?? "";
        const expMs = Date.UTC(+exp.slice(0, 4), +exp.slice(4, 6) - 1, +exp.slice(6, 8), +exp.slice(8, 10), +exp.slice(10, 12));
        expect(expMs - Date.now()).toBeGreaterThan(25 * 60_000);
        expect(expMs - Date.now()).toBeLessThanOrEqual(c.ROTATION_OVERLAP_MINUTES * 60_000);
        // The update ended the backup's session too (A's line changed: it gained the
        // overlap's expiry); the backup logs in again with A.
        expect(await waitFor(() => tunnelWorks(lab.main, T.name, T.backupHost), 30_000)).toBeGreaterThanOrEqual(0);
        // An attacker holding A keeps a session open during the overlap.
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "rst-att-"));
        fs.writeFileSync(path.join(dir, "k"), a.key.privateKey, { mode: 0o600 });
        const attacker = spawn("ssh", ["-F", "/dev/null", "-i", path.join(dir, "k"), "-o", "IdentitiesOnly=yes", "-o", "BatchMode=yes", "-o", `UserKnownHostsFile=${lab.knownHostsPath}`, "-N", `${user}@${lab.hosts[lab.main]!.addresses.operator}`], { stdio: "ignore" });
        let attackerExited = false;
        attacker.on("exit", () => (attackerExited = true));
        await new Promise((r) => setTimeout(r, 1500));
        expect(attackerExited).toBe(false);
        try {
            // A second rotation keeps only the immediately previous key (B), never A.
            const d = generateTunnelKey();
            await account(d.publicKey, {});
            expect(await sh(lab.main, `grep -v '^#' ${c.authorizedKeysPath(user)}`)).not.toContain(a.key.publicKey);
            expect(keyRefused(lab, user, a.key.privateKey)).toBe(true);
            // Narrowing the sources to the backup's NAT address applies to the overlapping key too.
            await account(d.publicKey, { allowedSources: [nat] });
            expect(await sh(lab.main, `grep previous-key ${c.authorizedKeysPath(user)}`)).toContain(`from="${nat}"`);
            expect(keyRefused(lab, user, b.privateKey)).toBe(true);
            // The backup switches to D; then the finalizer leaves D alone and ends A's live session.
            await runScript(T.backupHost, c.renderKeyInstallScript({ name: T.name }), { lab, stdin: d.privateKey });
            await runScript(lab.main, c.renderAccountFinalizeScript({ user, listenPorts: [T.port], publicKey: d.publicKey, description: `backup ${T.name}`, allowedSources: [nat] }), { lab });
            expect(await waitFor(async () => attackerExited, 5000, 200)).toBeGreaterThanOrEqual(0);
            expect((await sh(lab.main, `grep -c -v '^#' ${c.authorizedKeysPath(user)}`)).trim()).toBe("1");
            expect(await tunnelWorks(lab.main, T.name, T.backupHost)).toBe(true);
        } finally {
            attacker.kill();
            fs.rmSync(dir, { recursive: true, force: true });
        }
    });

    it("finding Low 1: a squatter on main's [::1]:PORT gets neither the tunnel nor main's `ssh backup-<name>`", async () => {
        await sh(lab.main, `id mallory >/dev/null 2>&1 || useradd -m -s /bin/bash mallory
            setsid runuser -u mallory -- socat TCP6-LISTEN:${T.port},bind=[::1],reuseaddr,fork SYSTEM:'echo SSH-2.0-rst-squatter' </dev/null >/dev/null 2>&1 &
            sleep 0.5; ss -Hltn 'sport = :${T.port}' | grep -q '\\[::1\\]'`);
        await applyTunnel(T, lab);
        expect(await tunnelWorks(lab.main, T.name, T.backupHost)).toBe(true);
        const listeners = await sh(lab.main, `ss -Hltnp 'sport = :${T.port}'`);
        expect(listeners).toMatch(/127\.0\.0\.1:/);
        await sh(lab.main, "pkill -u mallory; userdel -r mallory 2>/dev/null; true", { allowFail: true });
    });

    it("finding Low 2: keyExpiry is the last day the key is accepted", async () => {
        const today = (await sh(lab.main, "date +%Y%m%d")).trim();
        const applied = await applyTunnel({ ...T, keyExpiry: today }, lab);
        await runScript(T.backupHost, c.renderServiceRemoveScript({ name: T.name }), { lab });
        expect(keyRefused(lab, `tunnel-${T.name}`, applied.key.privateKey)).toBe(false);
        expect(await sh(lab.main, `cat ${c.authorizedKeysPath(`tunnel-${T.name}`)}`)).toContain(`expiry-time="${c.dayAfter(today)}"`);
    });

    it("finding Low 5: with main as an IP literal, an extra forward to a LAN target still gets through the unit's address filter", async () => {
        // Another host on the backup's home LAN (a NAS, say): backup2.
        const lan = lab.hosts["backup2"]!.addresses.lan!;
        expect(c.isIpLiteral(lab.hosts[lab.main]!.addresses.public!)).toBe(true);
        await applyTunnel({ ...T, extraForwards: [{ remotePort: T.port + 1, localHost: lan, localPort: 22 }] }, lab);
        expect(await sh(T.backupHost, `systemctl show -P IPAddressAllow ${c.servicePaths(T.name).unitName}`)).toContain(lan);
        const banner = await sh(lab.main, `timeout 5 bash -c 'exec 3<>/dev/tcp/127.0.0.1/${T.port + 1}; head -c 7 <&3'`, { allowFail: true });
        expect(banner).toBe("SSH-2.0");
    });

    it("scripts that start together on a fresh boot all get the state directory (CI lost the mkdir race: `File exists`)", async () => {
        // /run is empty after a boot; `pulumi up` then starts one script per resource
        // at once. Many starts at once make the race between test and mkdir likely.
        const script = renderScript("rst_note ok");
        const out = await sh(
            lab.main,
            `set -u; rm -rf /run/reverse-ssh-tunnel; s=$(mktemp -d /root/.race.XXXXXX); cat >"$s/script"
for round in 1 2 3 4 5; do
  rm -rf /run/reverse-ssh-tunnel
  for i in $(seq 1 24); do (bash "$s/script" >/dev/null 2>"$s/err.$round.$i"; echo $? >"$s/rc.$round.$i") & done
  wait
done
cat "$s"/rc.* | sort | uniq -c; cat "$s"/err.* | sort | uniq -c; stat -c '%u:%a' /run/reverse-ssh-tunnel; rm -rf "$s"`,
            { stdin: script },
        );
        expect(out).toMatch(/^\s*120 0$/m);
        expect(out).not.toMatch(/File exists|error/);
        expect(out.trim().split("\n").pop()).toBe("0:700");
    });

    it("temporary files of killed runs are removed by the next run; a live run's are kept (CI: a SIGKILL test left one in /run)", async () => {
        // A dead run's files (PID of a finished process) and a live run's (a sleeping process's PID).
        const out = await sh(
            lab.main,
            `set -eu; mkdir -p -m 0700 /run/reverse-ssh-tunnel; dead=$(bash -c 'echo $$')
systemd-run --quiet --unit rst-live-probe sleep 120; live=$(systemctl show -P MainPID rst-live-probe)
touch /run/reverse-ssh-tunnel/.rst-tmp.$dead.AAAAAA /etc/ssh/.rst-tmp.$dead.BBBBBB /run/reverse-ssh-tunnel/.rst-tmp.$live.CCCCCC
echo "$dead $live"`,
        );
        const [dead, live] = out.trim().split(" ");
        try {
            await runScript(lab.main, renderScript('rst_install_file /etc/ssh/rst-probe-file 644 root root <<<"x"', "rst_remove /etc/ssh/rst-probe-file"), { lab });
            const left = (await sh(lab.main, "ls -A /run/reverse-ssh-tunnel /etc/ssh | grep '^.rst-tmp' || true")).trim().split("\n").filter(Boolean);
            expect(left).toEqual([`.rst-tmp.${live}.CCCCCC`]);
            expect(left.join()).not.toContain(`.rst-tmp.${dead}.`);
        } finally {
            await sh(lab.main, `systemctl stop rst-live-probe 2>/dev/null; rm -f /run/reverse-ssh-tunnel/.rst-tmp.${live}.CCCCCC /etc/ssh/.rst-tmp.${dead}.BBBBBB /run/reverse-ssh-tunnel/.rst-tmp.${dead}.AAAAAA; true`);
        }
    });

    it("a rotation's finalizer waiting for its backup does not hold up other backups' account changes on main", async () => {
        const a = { user: "tunnel-fwait", listenPorts: [2396], publicKey: generateTunnelKey().publicKey };
        const b = { user: "tunnel-fother", listenPorts: [2397], publicKey: generateTunnelKey().publicKey };
        await runScript(lab.main, c.renderAccountApplyScript(a), { lab });
        try {
            // No backup ever connects with a's key: its finalizer waits (up to 60 s).
            const waiting = runScript(lab.main, c.renderAccountFinalizeScript(a), { lab, allowFail: true });
            await new Promise((r) => setTimeout(r, 2000));
            const t0 = Date.now();
            await runScript(lab.main, c.renderAccountApplyScript(b), { lab });
            const otherMs = Date.now() - t0;
            await sh(lab.main, "pkill -TERM -f -- '-s -- create' || true", { allowFail: true });
            await waiting;
            // Before: b waited for the finalizer's accounts lock, about 58 s.
            expect(otherMs).toBeLessThan(10_000);
        } finally {
            for (const u of [a, b]) await runScript(lab.main, c.renderAccountRevokeScript(u), { lab });
        }
    });

    it("stacks sharing a main: destroying one keeps the health command while another stack's tunnels remain", async () => {
        const count = async () => Number((await sh(lab.main, "ls /etc/ssh/ssh_config.d/ | grep -c '^reverse-ssh-tunnel-.*\\.conf$' || true")).trim());
        const before = await count();
        const present = async () => (await sh(lab.main, `test -x ${c.HEALTH_COMMAND_PATH} && echo yes || echo no`)).trim();
        await runScript(lab.main, c.renderHealthInstallScript(), { lab });
        // another stack's tunnel on this main
        await sh(lab.main, "printf 'Host backup-otherstack\\n    Port 2998\\n' >/etc/ssh/ssh_config.d/reverse-ssh-tunnel-otherstack.conf");
        try {
            const kept = await runScript(lab.main, c.renderHealthRemoveScript(), { lab });
            expect(kept.stdout).toContain(`${before + 1} tunnel(s) into this host remain`);
            expect(await present()).toBe("yes");
        } finally {
            await sh(lab.main, "rm -f /etc/ssh/ssh_config.d/reverse-ssh-tunnel-otherstack.conf");
        }
        await runScript(lab.main, c.renderHealthRemoveScript(), { lab });
        expect(await present()).toBe(before === 0 ? "no" : "yes");
    });

    it("finding Low 6 and Medium/interrupted: a killed key install leaves no stray copy of the private key after removal", async () => {
        const key = generateTunnelKey();
        // SIGKILL right after the key reached its temporary file (no trap can run).
        const script = c.renderKeyInstallScript({ name: T.name });
        // A function as replacement: in a replacement string "$$" would become "$".
        const injected = script.replace('    cat >"$tmp"\n', () => '    cat >"$tmp"\n    kill -KILL $$\n');
        expect(injected).toContain("    kill -KILL $$\n");
        expect(injected).not.toBe(script);
        await runScript(T.backupHost, injected, { lab, stdin: key.privateKey, allowFail: true });
        expect((await sh(T.backupHost, `ls -A /etc/reverse-ssh-tunnel/${T.name} | grep -c '^.rst-tmp' || true`)).trim()).toBe("1");
        await runScript(T.backupHost, c.renderServiceRemoveScript({ name: T.name }), { lab });
        expect((await sh(T.backupHost, "ls -A /etc/reverse-ssh-tunnel 2>/dev/null || echo gone")).trim()).toBe("gone");
    });
});

