/**
 * Shape of `.state/lab/lab.json`, the description of a running lab written by
 * `up` and read by tests, benchmarks and the demo via `loadLab()`.
 */

/** Role of a lab host. */
export type HostRole = "main" | "backup";

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
  /** main only: main's "public" address on the internet segment, as seen by backups (10.231.1.1). */
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
  /** User on every backup whose authorized_keys holds `publicKey`. */
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
  /** Name of the main host. */
  main: string;
  /** Names of the backup hosts, in index order. */
  backups: string[];
  hosts: Record<string, LabHost>;
}
