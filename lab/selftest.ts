/**
 * End-to-end self test of a running lab (`lab selftest`): exercises
 * connectivity, NAT, isolation and every fault injection through the client
 * API, and restores the lab's original state afterwards.
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import {
  adminSsh,
  getHost,
  hostExec,
  loadLab,
  natRotate,
  rebootHost,
  restartSshd,
  setBlackhole,
  setLink,
  type LabDescription,
} from "./client";
import { sleep } from "./proc";
import { sshRun } from "./ssh";
import { waitReady } from "./wait";

/** One check's outcome. */
export interface CheckResult {
  name: string;
  ok: boolean;
  ms: number;
  detail?: string;
}

function expect(cond: boolean, msg: string): void {
  if (!cond) throw new Error(msg);
}

/** TCP connect from `host` to main's public sshd; resolves to {ok, ms}. */
async function probeMain(lab: LabDescription, host: string, timeoutS = 2): Promise<{ ok: boolean; ms: number }> {
  const t = Date.now();
  const r = await hostExec(host, ["nc", "-z", "-w", String(timeoutS), lab.hosts[lab.main].addresses.public!, "22"]);
  return { ok: r.code === 0, ms: Date.now() - t };
}

/** Source address main sees for a fresh TCP connection from `backup` (nc listener on main). */
async function sourceSeenByMain(lab: LabDescription, backup: string, port = 5599): Promise<string> {
  const pub = lab.hosts[lab.main].addresses.public!;
  const listener = hostExec(lab.main, ["timeout", "5", "nc", "-lvn", pub, String(port)]);
  await sleep(400);
  await hostExec(backup, `echo hi | nc -N -w 2 ${pub} ${port}`);
  const r = await listener;
  return /Connection received on (\S+)/.exec(r.stderr + r.stdout)?.[1] ?? `(none: ${r.stderr.trim()})`;
}

/** Run all checks against the running lab; `log` gets one line per check. */
export async function selfTest(log: (line: string) => void = console.log): Promise<CheckResult[]> {
  const lab = loadLab();
  const [b1, b2] = lab.backups;
  const results: CheckResult[] = [];
  const check = async (name: string, fn: () => Promise<string | void>) => {
    const t = Date.now();
    try {
      const detail = (await fn()) ?? undefined;
      results.push({ name, ok: true, ms: Date.now() - t, detail });
      log(`PASS ${name} (${Date.now() - t} ms)${detail ? `: ${detail}` : ""}`);
    } catch (e) {
      results.push({ name, ok: false, ms: Date.now() - t, detail: String(e) });
      log(`FAIL ${name} (${Date.now() - t} ms): ${e instanceof Error ? e.message : String(e)}`);
    }
  };

  await check("admin ssh to every host (host key pinned)", async () => {
    for (const name of Object.keys(lab.hosts)) {
      const r = await adminSsh(name, "hostname && sudo -n true", {}, lab);
      expect(r.code === 0 && r.stdout.trim() === name, `${name}: ${r.code} ${r.stdout} ${r.stderr}`);
    }
  });
  await check("a wrong pinned host key is refused", async () => {
    const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "rst-lab-"));
    const kh = path.join(tmp, "known_hosts");
    const other = lab.hosts[b1].hostKeys.ed25519.split(" ");
    fs.writeFileSync(kh, `${lab.hosts[lab.main].addresses.operator} ${other[0]} ${other[1]}\n`);
    const r = await sshRun({ ...lab, knownHostsPath: kh }, lab.hosts[lab.main], "true", { extraArgs: ["-o", "HostKeyAlgorithms=ssh-ed25519"] });
    fs.rmSync(tmp, { recursive: true, force: true });
    expect(r.code !== 0 && /host key|IDENTIFICATION/i.test(r.stderr), `ssh did not refuse: ${r.code} ${r.stderr}`);
  });
  await check("exec: stdin, stdout and exit code pass through", async () => {
    const r = await hostExec(lab.main, "cat; exit 7", { stdin: "hello\n" });
    expect(r.code === 7 && r.stdout === "hello\n", JSON.stringify(r));
  });
  await check("main's admin key is on main and authorised for pi on backups", async () => {
    const r = await hostExec(lab.main, ["sh", "-c", "stat -c '%U %a' /home/admin/.ssh/id_ed25519; cat /home/admin/.ssh/id_ed25519.pub"]);
    expect(r.stdout.startsWith("admin 600") && r.stdout.includes(lab.mainAdminKey.publicKey.split(" ")[1]), r.stdout);
    for (const b of lab.backups) {
      const a = await hostExec(b, ["cat", "/home/pi/.ssh/authorized_keys"]);
      expect(a.stdout.includes(lab.mainAdminKey.publicKey.split(" ")[1]), `${b}: ${a.stdout}`);
    }
  });
  await check("backups reach main's public sshd", async () => {
    for (const b of lab.backups) expect((await probeMain(lab, b)).ok, `${b} cannot reach main:22`);
  });
  await check("main sees backups from the router's WAN address (NAT)", async () => {
    const src = await sourceSeenByMain(lab, b1);
    expect(src === lab.router.wanAddress, `source ${src}`);
    return src;
  });
  await check("main has no route to the home LAN", async () => {
    const r = await hostExec(lab.main, ["ip", "route", "get", lab.hosts[b1].addresses.lan!]);
    expect(r.code !== 0, `route exists: ${r.stdout}`);
    const p = await hostExec(lab.main, ["nc", "-z", "-w", "2", lab.hosts[b1].addresses.lan!, "22"]);
    expect(p.code !== 0, "main reached a backup's LAN address");
  });
  await check("link down/up: backup home link", async () => {
    await setLink(b1, "down", undefined, lab);
    const r = await adminSsh(b1, "true", { connectTimeoutS: 2 }, lab);
    expect(r.code !== 0, "ssh over a cut home link worked");
    expect((await probeMain(lab, b1)).ok, "backup lost main while only its home link was cut");
    await setLink(b1, "up", undefined, lab);
    const r2 = await adminSsh(b1, "true", {}, lab);
    expect(r2.code === 0, `ssh after restoring: ${r2.stderr}`);
  });
  await check("link down/up: main's internet link", async () => {
    await setLink(lab.main, "down", undefined, lab);
    expect(!(await probeMain(lab, b1)).ok, "backup reached main over a cut internet link");
    expect((await adminSsh(lab.main, "true", {}, lab)).code === 0, "operator lost main");
    await setLink(lab.main, "up", undefined, lab);
    expect((await probeMain(lab, b1)).ok, "backup cannot reach main after restoring");
  });
  await check("blackhole: silent drop for one backup only", async () => {
    await setBlackhole(true, b1, lab);
    const p = await probeMain(lab, b1, 3);
    expect(!p.ok && p.ms >= 2500, `probe ok=${p.ok} after ${p.ms} ms (a silent drop must time out)`);
    if (b2) expect((await probeMain(lab, b2)).ok, `${b2} was blackholed too`);
    await setBlackhole(false, b1, lab);
    expect((await probeMain(lab, b1)).ok, "still dropped after blackhole off");
    return `connect timed out after ${p.ms} ms`;
  });
  await check("nat-rotate: new public address, old flows reset", async () => {
    const pub = lab.hosts[lab.main].addresses.public!;
    await hostExec(lab.main, "nohup socat TCP-LISTEN:6000,reuseaddr,fork EXEC:cat >/dev/null 2>&1 &");
    await sleep(300);
    await hostExec(b1, `rm -f /run/flow.rc; nohup sh -c 'while :; do echo x; sleep 0.2; done | socat - TCP:${pub}:6000 >/dev/null 2>&1; echo $? >/run/flow.rc' >/dev/null 2>&1 &`);
    await sleep(1000);
    const rot = await natRotate(undefined, lab);
    expect(rot.to === lab.router.spareWanAddress, JSON.stringify(rot));
    await sleep(1500);
    const flow = await hostExec(b1, "cat /run/flow.rc 2>/dev/null || echo running");
    const src = await sourceSeenByMain(lab, b1);
    const back = await natRotate(lab.router.wanAddress, lab);
    await hostExec(lab.main, "pkill -x socat || true");
    await hostExec(b1, "pkill -x socat || true");
    expect(src === lab.router.spareWanAddress, `new source ${src}`);
    expect(flow.stdout.trim() !== "running", "the old flow survived the rotation");
    expect(back.to === lab.router.wanAddress, JSON.stringify(back));
    return `source ${lab.router.wanAddress} -> ${src}; old flow ended (socat exit ${flow.stdout.trim()}); flushed ${rot.flushed}`;
  });
  await check("sshd-restart", async () => {
    const before = await hostExec(lab.main, ["systemctl", "show", "-P", "MainPID", "ssh.service"]);
    await restartSshd(lab.main, lab);
    const after = await hostExec(lab.main, ["systemctl", "show", "-P", "MainPID", "ssh.service"]);
    expect(before.stdout.trim() !== after.stdout.trim(), "sshd pid unchanged");
    expect((await adminSsh(lab.main, "true", {}, lab)).code === 0, "ssh after restart");
  });
  const rebootTarget = b2 ?? b1;
  await check(`reboot ${rebootTarget}: state persists, new init`, async () => {
    await hostExec(rebootTarget, "echo persisted > /root/lab-marker");
    const before = getHost(rebootTarget, lab).leaderPid;
    const info = await rebootHost(rebootTarget, {}, lab);
    const r = await hostExec(rebootTarget, "cat /root/lab-marker");
    expect(r.stdout.trim() === "persisted", "marker lost");
    const after = loadLab().hosts[rebootTarget].leaderPid;
    expect(after !== null && after !== before, `leader ${before} -> ${after}`);
    return `ready after ${info.ms} ms`;
  });
  await check(`reboot --hard ${rebootTarget}`, async () => {
    const info = await rebootHost(rebootTarget, { hard: true }, lab);
    expect((await adminSsh(rebootTarget, "sudo cat /root/lab-marker", {}, lab)).stdout.trim() === "persisted", "marker lost");
    return `ready after ${info.ms} ms`;
  });
  await check(`guest-initiated reboot of ${b1} (systemctl reboot) comes back`, async () => {
    const before = (await hostExec(b1, "cat /proc/1/stat")).stdout;
    await hostExec(b1, "systemctl reboot");
    const t = Date.now();
    let changed = false;
    while (Date.now() - t < 30_000 && !changed) {
      await sleep(300);
      const r = await hostExec(b1, "cat /proc/1/stat").catch(() => null);
      changed = !!r && r.code === 0 && r.stdout !== before;
    }
    expect(changed, "no new init after 30 s");
    const info = await waitReady(lab, lab.hosts[b1], 60_000);
    return `ready after ${Date.now() - t} ms (${info.systemState})`;
  });
  return results;
}
