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
  pidNsAlive,
  startInPidNamespace,
  stopPidNs,
  rebootHost,
  restartSshd,
  setBlackhole,
  setLink,
  type LabDescription,
  type LabHost,
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
  const m = lab.hosts[lab.main];
  const r = await hostExec(host, ["nc", "-z", "-w", String(timeoutS), m.addresses.public!, String(m.sshPort ?? 22)]);
  return { ok: r.code === 0, ms: Date.now() - t };
}

/** Source address main sees for a fresh TCP connection from `backup` (nc listener on main). */
async function sourceSeenByMain(lab: LabDescription, backup: string, port = 5599, main = lab.main): Promise<string> {
  const pub = lab.hosts[main].addresses.public!;
  const listener = hostExec(main, ["timeout", "5", "nc", "-lvn", pub, String(port)]);
  listener.catch(() => undefined); // a failure is reported by the await below, not as an unhandled rejection
  await sleep(400);
  await hostExec(backup, `echo hi | nc -N -w 2 ${pub} ${port}`);
  const r = await listener;
  return /Connection received on (\S+)/.exec(r.stderr + r.stdout)?.[1] ?? `(none: ${r.stderr.trim()})`;
}

/**
 * Check that `h` runs the release, sshd mode and port lab.json says; returns a
 * short description. Throws with what differs.
 */
export async function checkHostVariant(h: LabHost): Promise<string> {
  const sh = async (cmd: string) => (await hostExec(h.name, cmd)).stdout.trim();
  const codename = await sh(". /etc/os-release; echo $VERSION_CODENAME");
  expect(codename === h.release, `${h.name}: runs ${codename}, lab.json says ${h.release}`);
  const state = async (unit: string) => `${await sh(`systemctl is-enabled ${unit} 2>/dev/null || true`)}/${await sh(`systemctl is-active ${unit} || true`)}`;
  const mode = h.sshd ?? "service";
  const svc = await state("ssh.service");
  const sock = await state("ssh.socket");
  const accept = await sh("systemctl show -P Accept ssh.socket");
  switch (mode) {
    case "service":
      expect(svc === "enabled/active" && sock.endsWith("/inactive"), `${h.name}: service mode but ssh.service ${svc}, ssh.socket ${sock}`);
      break;
    case "socket": {
      const trig = await sh("systemctl show -P TriggeredBy ssh.service");
      expect(sock === "enabled/active" && accept === "no", `${h.name}: socket mode but ssh.socket ${sock} Accept=${accept}`);
      expect(svc.startsWith("disabled/") && trig.includes("ssh.socket"), `${h.name}: socket mode but ssh.service ${svc}, TriggeredBy=${trig}`);
      break;
    }
    case "inetd": {
      const accepted = Number(await sh("systemctl show -P NAccepted ssh.socket"));
      expect(sock === "enabled/active" && accept === "yes", `${h.name}: inetd mode but ssh.socket ${sock} Accept=${accept}`);
      expect(svc.endsWith("/inactive") && accepted > 0, `${h.name}: inetd mode but ssh.service ${svc}, ${accepted} connections accepted`);
      break;
    }
    case "sshd-unit": {
      const sshd = await state("sshd.service");
      const cat = await hostExec(h.name, "systemctl cat ssh.service");
      const reload = await hostExec(h.name, "systemctl reload ssh");
      expect(sshd === "enabled/active", `${h.name}: sshd-unit mode but sshd.service ${sshd}`);
      expect(cat.code !== 0 && reload.code !== 0 && /not found/i.test(reload.stderr), `${h.name}: ssh.service still exists (reload: ${reload.code} ${reload.stderr.trim()})`);
      break;
    }
  }
  const port = h.sshPort ?? 22;
  const listening = await sh(`ss -Htln 'sport = :${port}' | wc -l`);
  expect(Number(listening) > 0, `${h.name}: nothing listens on port ${port}`);
  if (port !== 22) expect((await sh("ss -Htln 'sport = :22' | wc -l")) === "0", `${h.name}: sshd on ${port} but something listens on 22`);
  const tport = await sh("sshd -T 2>/dev/null | awk '$1==\"port\"{print $2}'");
  expect(tport === String(port), `${h.name}: sshd -T says port ${tport}, lab.json ${port}`);
  return `${h.name} ${h.release} ${mode}:${port}`;
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
  await check("every host runs its release, sshd mode and port", async () => {
    const seen: string[] = [];
    for (const h of Object.values(lab.hosts)) seen.push(await checkHostVariant(h));
    return seen.join(", ");
  });
  await check("main's admin key is on main and authorised for each backup's user (pi unless set)", async () => {
    const r = await hostExec(lab.main, ["sh", "-c", "stat -c '%U %a' /home/admin/.ssh/id_ed25519; cat /home/admin/.ssh/id_ed25519.pub"]);
    expect(r.stdout.startsWith("admin 600") && r.stdout.includes(lab.mainAdminKey.publicKey.split(" ")[1]), r.stdout);
    const users: string[] = [];
    for (const b of lab.backups) {
      const user = lab.hosts[b].backupUser ?? lab.mainAdminKey.backupUser;
      const a = await hostExec(b, `cat "$(getent passwd ${user} | cut -d: -f6)/.ssh/authorized_keys"`);
      expect(a.stdout.includes(lab.mainAdminKey.publicKey.split(" ")[1]), `${b}: ${user}: ${a.stdout}`);
      if (user !== "pi") expect((await hostExec(b, "id pi")).code !== 0, `${b}: user=${user} but a pi user exists`);
      users.push(`${b}:${user}`);
    }
    return users.join(" ");
  });
  await check("a process in its own PID namespace under a tunnel-like uid on main (startInPidNamespace)", async () => {
    const uid = 4242;
    const c = await startInPidNamespace(lab.main, uid);
    try {
      expect(c.nsPids.length === 2 && c.nsPids[1] === 1, `NSpid ${c.nsPids.join(" ")}: not PID 1 of a namespace of its own`);
      const owner = (await hostExec(lab.main, `stat -c %u /proc/${c.pid}`)).stdout.trim();
      expect(owner === String(uid), `owned by ${owner}`);
      expect(await pidNsAlive(c), "not alive after start");
      // the host's own init must still be the one the lab enters (it shares main's netns with this PID 1)
      const init = (await hostExec(lab.main, "readlink /proc/1/exe")).stdout.trim();
      expect(init.endsWith("/systemd"), `the lab now enters ${init} as main's init`);
    } finally {
      await stopPidNs(c);
    }
    expect(!(await pidNsAlive(c)), "still alive after stop");
    return `pid ${c.pid} (1 inside), unit ${c.unit}`;
  });
  await check("backups reach main's public sshd", async () => {
    for (const b of lab.backups) expect((await probeMain(lab, b)).ok, `${b} cannot reach main:22`);
  });
  await check("each backup reaches its own main by the name `main`", async () => {
    const seen: string[] = [];
    for (const b of lab.backups) {
      const m = lab.hosts[lab.hosts[b].main ?? lab.main];
      const r = await hostExec(b, `getent hosts main | cut -d' ' -f1; nc -z -w 2 main ${m.sshPort ?? 22} && echo ok`);
      expect(r.stdout.trim() === `${m.addresses.public}\nok`, `${b}: main is ${r.stdout.trim()} (want ${m.addresses.public}, reachable)`);
      seen.push(`${b}->${m.name}`);
    }
    return seen.join(" ");
  });
  for (const m of (lab.mains ?? [lab.main]).slice(1)) {
    await check(`${m} sees its backups from the router's address on its own segment (NAT)`, async () => {
      const b = lab.hosts[m].backupsOf?.[0] ?? b1;
      const src = await sourceSeenByMain(lab, b, 5599, m);
      const want = lab.hosts[m].addresses.public!.replace(/\.1$/, ".2");
      expect(src === want, `source ${src}, want ${want}`);
      return `${b} seen from ${src}`;
    });
  }
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
    const unit = lab.hosts[lab.main].sshdUnit ?? "ssh.service";
    const before = await hostExec(lab.main, ["systemctl", "show", "-P", "InvocationID", unit]);
    await restartSshd(lab.main, lab);
    const after = await hostExec(lab.main, ["systemctl", "show", "-P", "InvocationID", unit]);
    expect(before.stdout.trim() !== after.stdout.trim(), `${unit} was not restarted`);
    expect((await adminSsh(lab.main, "true", {}, lab)).code === 0, "ssh after restart");
    return unit;
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
