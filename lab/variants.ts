/**
 * Host variants applied to a host's overlay before it boots: how sshd is run
 * (ssh.service, ssh.socket with Accept=no or Accept=yes, or a unit named
 * sshd.service) and on which port. Works on the files the way
 * `systemctl enable/disable` and an admin's editor would, so the booted host
 * looks exactly like one configured by hand. Idempotent: running it again on
 * the same overlay changes nothing.
 *
 * The rendering functions are pure; {@link applySshdVariant} does the file work.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { lexists } from "./rootfs";
import type { SshdMode } from "./types";

/** Where the packaged units are (bookworm and trixie both have merged /usr). */
const LIB_UNITS = "usr/lib/systemd/system";
const ETC_UNITS = "etc/systemd/system";

/** `sshd_config` with its first `Port` line (commented or not) set to `port`; other lines untouched. */
export function renderSshdConfigPort(config: string, port: number): string {
  const lines = config.split("\n");
  const i = lines.findIndex((l) => /^\s*#?\s*Port\s+\d+\s*$/.test(l));
  const line = `Port ${port}`;
  if (i >= 0) lines[i] = line;
  else lines.unshift(line);
  return lines.join("\n");
}

/** Drop-in for ssh.socket: listen on `port` instead of the packaged 22 (the empty ListenStream= resets the list). */
export function renderSocketPortDropIn(port: number): string {
  return `# lab: sshd on port ${port}\n[Socket]\nListenStream=\nListenStream=${port}\n`;
}

/** Drop-in for ssh.socket: one sshd -i per connection (inetd style). */
export function renderSocketAcceptDropIn(accept: boolean): string {
  return `# lab: ${accept ? "one sshd -i per connection (inetd style)" : "one sshd -D that takes the listening socket"}\n[Socket]\nAccept=${accept ? "yes" : "no"}\n`;
}

/** `ssh@.service` (per-connection sshd) for releases that ship it only as `sshd@.service` (trixie). */
export function renderPerConnectionService(): string {
  return `[Unit]
Description=OpenBSD Secure Shell server per-connection daemon
Documentation=man:sshd(8) man:sshd_config(5)
After=auditd.service

[Service]
EnvironmentFile=-/etc/default/ssh
ExecStart=-/usr/sbin/sshd -i $SSHD_OPTS
StandardInput=socket
RuntimeDirectory=sshd
RuntimeDirectoryPreserve=yes
RuntimeDirectoryMode=0755
`;
}

/** The packaged ssh.service renamed: no `Alias=sshd.service` (it is the name now). */
export function renderSshdService(packagedSshService: string): string {
  return (
    "# lab: the packaged ssh.service under the name sshd.service (as Fedora, RHEL and Arch name it)\n" +
    packagedSshService
      .split("\n")
      .filter((l) => !/^\s*Alias\s*=/.test(l))
      .join("\n")
  );
}

/** Remove a file or symlink (in the overlay this leaves a whiteout over the base's copy). */
function remove(p: string): void {
  if (lexists(p)) fs.rmSync(p, { force: true });
}

function symlink(target: string, link: string): void {
  fs.mkdirSync(path.dirname(link), { recursive: true });
  if (lexists(link)) {
    if (fs.lstatSync(link).isSymbolicLink() && fs.readlinkSync(link) === target) return;
    fs.rmSync(link, { force: true });
  }
  fs.symlinkSync(target, link);
}

function writeIfChanged(file: string, content: string): void {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  if (lexists(file) && fs.lstatSync(file).isSymbolicLink()) fs.rmSync(file);
  if (fs.existsSync(file) && fs.readFileSync(file, "utf8") === content) return;
  fs.writeFileSync(file, content, { mode: 0o644 });
}

/**
 * Configure how sshd runs in the guest tree `root` (a host's merged overlay).
 * Same effect as the admin commands given per mode in lab/README.md.
 */
export function applySshdVariant(root: string, mode: SshdMode, port: number): void {
  const r = (rel: string) => path.join(root, rel);
  const wantsMulti = r(`${ETC_UNITS}/multi-user.target.wants`);
  const wantsSockets = r(`${ETC_UNITS}/sockets.target.wants`);
  const socketDropIns = r(`${ETC_UNITS}/ssh.socket.d`);

  if (port !== 22) {
    // sshd_config's Port: what the daemon binds in service modes and what `sshd -T` reports in every mode
    const cfg = r("etc/ssh/sshd_config");
    const text = fs.readFileSync(cfg, "utf8");
    const next = renderSshdConfigPort(text, port);
    if (next !== text) fs.writeFileSync(cfg, next);
  }

  switch (mode) {
    case "service":
      return; // the base: ssh.service enabled, ssh.socket disabled
    case "socket":
    case "inetd": {
      // systemctl disable ssh.service (also drops its sshd.service alias); systemctl enable ssh.socket
      remove(path.join(wantsMulti, "ssh.service"));
      remove(r(`${ETC_UNITS}/sshd.service`));
      symlink(`/${LIB_UNITS}/ssh.socket`, path.join(wantsSockets, "ssh.socket"));
      if (mode === "inetd") {
        writeIfChanged(path.join(socketDropIns, "lab-accept.conf"), renderSocketAcceptDropIn(true));
        // trixie ships the per-connection unit as sshd@.service; an Accept=yes ssh.socket needs ssh@.service
        if (!fs.existsSync(r(`${LIB_UNITS}/ssh@.service`))) writeIfChanged(r(`${ETC_UNITS}/ssh@.service`), renderPerConnectionService());
      } else {
        writeIfChanged(path.join(socketDropIns, "lab-accept.conf"), renderSocketAcceptDropIn(false));
      }
      if (port !== 22) writeIfChanged(path.join(socketDropIns, "lab-port.conf"), renderSocketPortDropIn(port));
      return;
    }
    case "sshd-unit": {
      const packaged = r(`${LIB_UNITS}/ssh.service`);
      const unit = r(`${ETC_UNITS}/sshd.service`);
      // read the packaged unit before it is hidden (on a second run it is already gone: keep our copy)
      const source = fs.existsSync(packaged) ? fs.readFileSync(packaged, "utf8") : null;
      remove(path.join(wantsMulti, "ssh.service"));
      if (lexists(unit) && fs.lstatSync(unit).isSymbolicLink()) fs.rmSync(unit); // Debian's alias symlink
      if (source !== null) writeIfChanged(unit, renderSshdService(source));
      if (!fs.existsSync(unit)) throw new Error(`${root}: no ssh.service to rename to sshd.service`);
      symlink(`/${ETC_UNITS}/sshd.service`, path.join(wantsMulti, "sshd.service"));
      // no ssh.* units at all: `systemctl reload ssh` must fail with "Unit ssh.service not found"
      for (const u of ["ssh.service", "ssh.socket", "ssh@.service", "rescue-ssh.target"]) remove(r(`${LIB_UNITS}/${u}`));
      remove(path.join(wantsSockets, "ssh.socket"));
      // nor the SysV script, from which systemd-sysv-generator would make an "ssh.service" again
      remove(r("etc/init.d/ssh"));
      for (const rc of ["rc0.d", "rc1.d", "rc2.d", "rc3.d", "rc4.d", "rc5.d", "rc6.d"]) {
        const dir = r(`etc/${rc}`);
        if (fs.existsSync(dir)) for (const f of fs.readdirSync(dir)) if (/^[SK]\d\dssh$/.test(f)) remove(path.join(dir, f));
      }
      return;
    }
  }
}
