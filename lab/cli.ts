/**
 * Command line of the lab: `npx tsx lab/cli.ts <command> ...` (or `npm run lab -- <command>`).
 * Run `help` for usage.
 */
import * as faults from "./faults";
import { loadLab } from "./client";
import { DEFAULT_RELEASE, labDown, labStatus, labUp, type LabStatus } from "./lab";
import { execInteractive } from "./nsexec";
import { parseHostSpecs } from "./options";
import { selfTest } from "./selftest";
import { sshInteractive } from "./ssh";
import { defaultBackupNames, type LinkKind } from "./topology";

/** Usage text. */
export const USAGE = `usage: npx tsx lab/cli.ts COMMAND [ARGS]

  up [--release R] [--backups N|name,name] [--mains N] [--host NAME:key=value,...]... [--timeout SECONDS] [--force]
                         build/reuse the base rootfs, boot main + backups, write .state/lab/lab.json
                         --host sets one host's options (repeatable), keys:
                           release=bookworm|trixie   sshd=service|socket|inetd|sshd-unit
                           port=N (sshd port, default 22)   user=NAME (backups: holder of main's
                           admin key, default pi; user=admin: no extra user)
                           main=main2 (backups: the main it belongs to; needs --mains 2)
                         --mains N: mains main, main2 .. (each with its own addresses)
  down [--purge]         stop everything (--purge also deletes host state, lab keys and the
                         root-namespace guard; the base rootfs cache is kept)
  status [--json]        show hosts, namespaces, links, NAT and blackhole state
  exec HOST -- CMD...    run CMD as root inside HOST (nsenter; stdio and exit code pass through)
  ssh HOST [-- CMD...]   ssh to HOST as admin with the lab key (host key pinned)
  link HOST up|down [--link home|lan|internet|operator]
                         cut/restore a link (default: backup's home link, main's internet link)
  blackhole on|off [--backup NAME|N]
                         silently drop packets between a backup (default all) and main in the router
  nat-rotate [--to ADDR] switch the router's public address (10.231.1.2 <-> 10.231.1.3), flush conntrack
  reboot HOST [--hard]   restart HOST's container (--hard: power cut) and wait until it is ready
  sshd-restart HOST      systemctl restart ssh inside HOST
  selftest               check connectivity, NAT, isolation and every fault on the running lab
`;

interface Parsed {
  positional: string[];
  /** last value of each flag */
  flags: Map<string, string | true>;
  /** every value of each flag, in order (for repeatable flags such as --host) */
  all: Map<string, string[]>;
  rest: string[] | null;
}

/** Parse `--flag value`, `--flag=value`, `--bool` and a trailing `-- rest...`. */
export function parseArgs(argv: readonly string[], booleans: readonly string[]): Parsed {
  const positional: string[] = [];
  const flags = new Map<string, string | true>();
  const all = new Map<string, string[]>();
  const set = (k: string, v: string | true) => {
    flags.set(k, v);
    if (typeof v === "string") all.set(k, [...(all.get(k) ?? []), v]);
  };
  let rest: string[] | null = null;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === "--") {
      rest = argv.slice(i + 1);
      break;
    }
    if (a.startsWith("--")) {
      const eq = a.indexOf("=");
      const key = eq > 0 ? a.slice(2, eq) : a.slice(2);
      if (eq > 0) set(key, a.slice(eq + 1));
      else if (booleans.includes(key)) set(key, true);
      else {
        const v = argv[++i];
        if (v === undefined) throw new Error(`--${key} needs a value`);
        set(key, v);
      }
    } else positional.push(a);
  }
  return { positional, flags, all, rest };
}

function str(p: Parsed, key: string): string | undefined {
  const v = p.flags.get(key);
  return typeof v === "string" ? v : undefined;
}

function need(p: Parsed, n: number, what: string): string[] {
  if (p.positional.length < n) throw new Error(`missing ${what}\n\n${USAGE}`);
  return p.positional;
}

function backupNames(spec: string | undefined): string[] {
  if (spec === undefined) return defaultBackupNames(1);
  if (/^\d+$/.test(spec)) return defaultBackupNames(Number(spec));
  return spec.split(",").map((s) => s.trim()).filter(Boolean);
}

const log = (m: string) => process.stderr.write(`[lab] ${m}\n`);

function printStatus(s: LabStatus): void {
  console.log(`lab.json: ${s.labJson ?? "(none: lab is down)"}   release: ${s.release ?? "-"}`);
  console.log(`netns: ${s.netns.join(" ") || "(none)"}   guard: ${s.guard ? "installed" : "absent"}`);
  console.log(`router: ${s.router.present ? `snat ${s.router.snat ?? "?"}, blackholed [${s.router.blackholed.join(", ")}]` : "absent"}`);
  const rows = [["HOST", "ROLE", "RUNNING", "LEADER", "ADDRESS", "LINKS"]];
  for (const h of s.hosts) {
    const links = Object.entries(h.links).map(([k, v]) => `${k}=${v}`).join(" ");
    rows.push([h.name, h.role, h.running ? "yes" : "no", String(h.leaderPid ?? "-"), h.operatorAddress, links]);
  }
  const w = rows[0].map((_, i) => Math.max(...rows.map((r) => r[i].length)));
  for (const r of rows) console.log(r.map((c, i) => c.padEnd(w[i])).join("  ").trimEnd());
}

/** Run the CLI; resolves to the process exit code. */
export async function main(argv: readonly string[]): Promise<number> {
  const [cmd, ...args] = argv;
  const p = parseArgs(args, ["force", "purge", "json", "hard"]);
  switch (cmd) {
    case "up": {
      const t = Date.now();
      const r = await labUp({
        release: str(p, "release") ?? DEFAULT_RELEASE,
        backups: backupNames(str(p, "backups")),
        hosts: parseHostSpecs(p.all.get("host") ?? []),
        mains: str(p, "mains") ? Number(str(p, "mains")) : undefined,
        timeoutMs: str(p, "timeout") ? Number(str(p, "timeout")) * 1000 : undefined,
        force: p.flags.has("force"),
        log,
      });
      const steps = Object.entries(r.timings).map(([k, v]) => `${k} ${(v / 1000).toFixed(1)}s`).join(", ");
      log(`up in ${((Date.now() - t) / 1000).toFixed(1)} s${steps ? ` (${steps})` : ""}`);
      console.log(r.labJson);
      return 0;
    }
    case "down": {
      const t = Date.now();
      await labDown({ purge: p.flags.has("purge"), log });
      log(`down in ${((Date.now() - t) / 1000).toFixed(1)} s`);
      return 0;
    }
    case "status": {
      const s = await labStatus();
      if (p.flags.has("json")) console.log(JSON.stringify(s, null, 2));
      else printStatus(s);
      return 0;
    }
    case "exec": {
      const [host] = need(p, 1, "HOST");
      if (!p.rest?.length) throw new Error("usage: exec HOST -- CMD...");
      return execInteractive(host, p.rest);
    }
    case "ssh": {
      const [host] = need(p, 1, "HOST");
      const lab = loadLab();
      const h = lab.hosts[host];
      if (!h) throw new Error(`no host ${host}`);
      return sshInteractive(lab, h, p.rest?.length ? p.rest.join(" ") : null);
    }
    case "link": {
      const [host, state] = need(p, 2, "HOST up|down");
      if (state !== "up" && state !== "down") throw new Error("link state must be up or down");
      const lab = loadLab();
      const kind = await faults.setLink(lab, host, state === "up", str(p, "link") as LinkKind | undefined);
      log(`${host} ${kind} link ${state}: now ${await faults.getLink(lab, host, kind)}`);
      return 0;
    }
    case "blackhole": {
      const [state] = need(p, 1, "on|off");
      if (state !== "on" && state !== "off") throw new Error("blackhole takes on or off");
      const lab = loadLab();
      let b = str(p, "backup");
      if (b !== undefined && /^\d+$/.test(b)) b = lab.backups[Number(b) - 1] ?? `backup${b}`;
      const now = await faults.setBlackhole(lab, state === "on", b);
      log(`blackholed (dropped to/from ${lab.hosts[lab.main].addresses.public}): [${now.join(", ")}]`);
      return 0;
    }
    case "nat-rotate": {
      const r = await faults.natRotate(loadLab(), str(p, "to"));
      log(`router SNAT ${r.from} -> ${r.to}; flushed ${r.flushed} conntrack entries`);
      return 0;
    }
    case "reboot": {
      const [host] = need(p, 1, "HOST");
      const r = await faults.rebootHost(loadLab(), host, { hard: p.flags.has("hard") });
      log(`${host} ready again after ${(r.ms / 1000).toFixed(1)} s (${r.systemState})`);
      return 0;
    }
    case "sshd-restart": {
      const [host] = need(p, 1, "HOST");
      await faults.restartSshd(loadLab(), host);
      log(`${host}: sshd restarted`);
      return 0;
    }
    case "selftest": {
      const results = await selfTest((l) => console.log(l));
      const failed = results.filter((r) => !r.ok).length;
      console.log(`${results.length - failed} passed, ${failed} failed`);
      return failed ? 1 : 0;
    }
    case undefined:
    case "help":
    case "--help":
    case "-h":
      process.stdout.write(USAGE);
      return cmd === undefined ? 2 : 0;
    default:
      throw new Error(`unknown command ${cmd}\n\n${USAGE}`);
  }
}

if (require.main === module) {
  main(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (e: unknown) => {
      process.stderr.write(`lab: ${e instanceof Error ? e.message : String(e)}\n`);
      process.exit(1);
    },
  );
}
