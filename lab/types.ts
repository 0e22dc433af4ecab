/**
 * Shape of `.state/lab/lab.json`, the description of a running lab written by
 * `up` and read by tests, benchmarks and the demo via `loadLab()`.
 */

/** Role of a lab host. */
export type HostRole = "main" | "backup";

/**
 * How a host runs its OpenSSH server (see lab/README.md, "Host variants").
 * - `service`: `ssh.service` runs `sshd -D` (Debian's default on 12 and 13). Default.
 * - `socket`: `ssh.socket` with `Accept=no` hands its listening socket to `ssh.service`
 *   (`ssh.service` disabled): `systemctl disable ssh.service; systemctl enable ssh.socket`
 *   with the packaged units of Debian 12 (9.2p1-2+deb12u10) and 13.
 * - `inetd`: `ssh.socket` with `Accept=yes` starts one `ssh@…service` (`sshd -i`) per
 *   connection (a drop-in `Accept=yes` plus an `ssh@.service`, as older Debian releases shipped).
 * - `sshd-unit`: classic daemon, but the unit is `sshd.service` and no `ssh.service` exists
 *   (as on Fedora, RHEL, Arch and openSUSE; not a Debian configuration).
 */
export type SshdMode = "service" | "socket" | "inetd" | "sshd-unit";

/** Per-host options of `lab up` (`--host NAME:key=value,...`), recorded in lab.json. */
export interface HostOptions {
  /** Debian release of this host (default: the lab's `release`, itself "bookworm" by default). */
  release?: string;
  /** How sshd is run (default "service"). */
  sshd?: SshdMode;
  /** TCP port the host's sshd listens on (default 22). The lab's admin ssh uses it. */
  sshPort?: number;
  /**
   * backups only: the user whose authorized_keys holds main's admin key (default "pi").
   * "admin" means the host has no extra user (like Raspberry Pi OS since 2022, where the
   * only login is the owner's first-boot user); any other name creates that user instead of `pi`.
   */
  backupUser?: string;
  /** backups only: the main this backup belongs to (default "main"; "main2" needs `--mains 2`). */
  main?: string;
}

/** A host's public SSH host keys, one `type base64 comment` line each (known_hosts / authorized_keys format). */
export interface HostPublicKeys {
  ed25519: string;
  rsa: string;
}

/** Addresses of one host. */
export interface HostAddresses {
  /** Address the operator (root namespace) uses to reach the host: main's veth or a backup's home link. */
  operator: string;
  /** Operator-side address of that link (10.231.0.1 or 10.231.(100+N).1). */
  operatorPeer: string;
  /** mains only: the "public" address backups dial (main 10.231.1.1, mainK 10.231.(10+K).1). */
  public?: string;
  /** backup only: address on the home LAN behind the NAT router (10.231.2.(10+N)). */
  lan?: string;
  /** backup only: home-link address for the first install (10.231.(100+N).2); same as `operator`. */
  homeLink?: string;
}

/** One host (container) of the lab. */
export interface LabHost {
  name: string;
  role: HostRole;
  /** 0 for main, N for backupN (the N used in the addressing plan). */
  index: number;
  addresses: HostAddresses;
  /** Administrative user (NOPASSWD sudo) reachable with the lab admin key. */
  adminUser: string;
  /** Private key of the lab admin (absolute path, mode 0600). */
  adminKeyPath: string;
  hostKeys: HostPublicKeys;
  /** Merged overlay directory: the host's root filesystem as seen from the operator. */
  rootfs: string;
  /** Per-host state directory (overlay upper/work, console.log, pid files). */
  stateDir: string;
  consoleLog: string;
  /** Network namespace name (under /run/netns). */
  netns: string;
  /** PID (in the root pid namespace) of the container's init when `up` finished; changes on reboot. */
  leaderPid: number | null;
  release: string;
  /** TCP port of the host's sshd (22 unless `--host NAME:port=N`). */
  sshPort: number;
  /** How the host runs sshd (see {@link SshdMode}; "service" by default). */
  sshd: SshdMode;
  /**
   * The systemd unit to restart or inspect for sshd: "ssh.service" (service, socket),
   * "ssh.socket" (inetd) or "sshd.service" (sshd-unit).
   */
  sshdUnit: string;
  /** backups only: user whose authorized_keys holds main's admin key ("pi" by default); overrides `mainAdminKey.backupUser`. */
  backupUser?: string;
  /** mains only: backups that belong to this main (their /etc/hosts maps `main` to it). */
  backupsOf?: string[];
  /** backups only: the main this backup belongs to (its /etc/hosts `main` entry). */
  main?: string;
}

/** The NAT router between the home LAN and the internet segment. */
export interface LabRouter {
  netns: string;
  wanInterface: string;
  /** WAN address used for SNAT at start (the home's public address). */
  wanAddress: string;
  /** Spare WAN address `nat-rotate` switches to (simulates the public address changing). */
  spareWanAddress: string;
  /** LAN gateway address. */
  lanAddress: string;
  lanSubnet: string;
}

/** The keypair installed on main for its admin to log into backups as `pi` through the tunnel. */
export interface MainAdminKey {
  /** Path of the private key inside main. */
  pathOnMain: string;
  /** Copy of the private key on the operator (absolute path, mode 0600). */
  privateKeyPath: string;
  publicKey: string;
  /** Default user on backups whose authorized_keys holds `publicKey` ("pi"); a host's own `backupUser` wins. */
  backupUser: string;
}

/** Contents of `.state/lab/lab.json`. */
export interface LabDescription {
  version: 1;
  createdAt: string;
  release: string;
  baseRootfs: string;
  stateDir: string;
  /** known_hosts with every host's keys under each of its addresses (used by adminSsh). */
  knownHostsPath: string;
  admin: { user: string; privateKeyPath: string; publicKey: string };
  mainAdminKey: MainAdminKey;
  router: LabRouter;
  subnets: { operatorMain: string; internet: string; lan: string; homeLinks: string };
  /** Name of the (first) main host. */
  main: string;
  /** Names of all main hosts (["main"], or ["main", "main2"] with `--mains 2`). */
  mains: string[];
  /** Per-host options as given to `up` (normalised; hosts without options are absent). */
  hostOptions: Record<string, HostOptions>;
  /** Names of the backup hosts, in index order. */
  backups: string[];
  hosts: Record<string, LabHost>;
}
