/**
 * Generator of admin sshd configurations for the differential test (sshd judges the
 * library's apply script). Each case is what an ordinary or careless admin may have
 * on main: Match blocks of every criterion with lists and negations, read before and
 * after the policy (sshd_config, drop-ins, nested Includes, an Include inside a Match),
 * comments, CRLF, quotes, `=` forms, keyword case, aliases, and settings of every
 * policy keyword, permissive or harmless.
 *
 * Alongside the files, the generator derives from what it wrote (never from the code
 * under test) the probe connections that tell every case apart: for each address or
 * network it named, the first and last address and the ones just outside, a member
 * of each pattern, and the host names its `Match Host` patterns allow.
 */
import { managedBlockMarkers, renderMatchBlock } from "../../components/sshd/render";

/** The tunnel account and port every case installs the policy for. */
export const CASE_USER = "tunnel-x";
export const CASE_PORT = 2222;
const DROPIN_NAME = `00-reverse-ssh-tunnel-${CASE_USER}.conf`;

/** One generated configuration. */
export interface DiffCase {
    /** Files of /etc/ssh, relative paths, as the admin left them. */
    files: Record<string, string>;
    /** The same with the policy where the library puts it (to tell a false refusal). */
    placed: Record<string, string>;
    /** Whether the tunnel account exists before the apply. */
    account: "present" | "absent";
    /** `sshd -T -C` specifications covering every kind of connection the case tells apart. */
    probes: string[];
}

/** Deterministic PRNG (mulberry32). */
export function rng(seed: number): () => number {
    let a = seed >>> 0;
    return () => {
        a = (a + 0x6d2b79f5) >>> 0;
        let t = a;
        t = Math.imul(t ^ (t >>> 15), t | 1);
        t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
        return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
    };
}

type Rand = () => number;
const pick = <T>(r: Rand, xs: readonly T[]): T => xs[Math.floor(r() * xs.length)];
const chance = (r: Rand, p: number): boolean => r() < p;

/** Networks and addresses Match Address / LocalAddress lines name. */
const NETS = ["10.0.0.0/8", "192.168.1.0/24", "203.0.113.7", "127.0.0.1", "127.0.0.0/8", "172.16.0.0/12", "10.1.2.3/32", "198.51.100.0/25", "::1", "2001:db8::/32", "fd00::/8", "0.0.0.0/0", "203.0.113.0/24", "10.231.0.0/16"] as const;
/** Address patterns with wildcards (sshd also accepts them in Address lists). */
const WILD_ADDRS = ["10.0.0.*", "203.0.113.?", "192.168.*"] as const;
const USERS = ["root", "admin", "admin,root", "*", "tunnel-*", "*,!admin", "*,!tunnel-x", "tunnel-?", "tunnel-x", "!root,*", "backup", "*,!tunnel-*"] as const;
const GROUPS = ["*", "tunnel-x", "admin", "*,!admin", "tunnel-*", "sudo,wheel", "*,!tunnel-x"] as const;
const HOSTS = ["*.example.org", "bastion.lan", "*", "10.0.0.*", "203.0.113.*", "*.invalid"] as const;

/** Settings an admin block may carry: [keyword, values] (permissive and harmless alike). */
const SETTINGS: ReadonlyArray<[string, readonly string[]]> = [
    ["AllowTcpForwarding", ["yes", "all", "local", "no", "remote"]],
    ["PermitOpen", ["any", "none", "127.0.0.1:22"]],
    ["PermitListen", ["any", "0.0.0.0:2222", "127.0.0.1:2222", "none", "2399"]],
    ["AllowStreamLocalForwarding", ["yes", "all", "remote", "no"]],
    ["GatewayPorts", ["yes", "clientspecified", "no"]],
    ["ForceCommand", ["internal-sftp", "/bin/true"]],
    ["MaxSessions", ["10", "0"]],
    ["PermitTTY", ["yes", "no"]],
    ["X11Forwarding", ["yes", "no"]],
    ["AllowAgentForwarding", ["yes", "no"]],
    ["PermitTunnel", ["yes", "no"]],
    ["DisableForwarding", ["yes", "no"]],
    ["AuthorizedKeysFile", [".ssh/authorized_keys", "/etc/ssh/keys/%u"]],
    ["PasswordAuthentication", ["yes", "no"]],
    ["ChallengeResponseAuthentication", ["yes"]],
    ["KbdInteractiveAuthentication", ["yes"]],
    ["AuthenticationMethods", ["any", "publickey,password", "publickey"]],
    ["PermitUserRC", ["yes"]],
    ["ClientAliveInterval", ["60", "5"]],
    ["LogLevel", ["QUIET", "VERBOSE", "INFO"]],
    // Harmless: the policy does not set them.
    ["PermitRootLogin", ["no", "prohibit-password"]],
    ["Banner", ["none"]],
    ["X11UseLocalhost", ["yes"]],
    ["MaxAuthTries", ["3"]],
];

/** Writes a keyword the ways sshd accepts: case, `=`, tabs, quotes, a trailing comment. */
function keywordLine(r: Rand, kw: string, value: string): string {
    let k = kw;
    if (chance(r, 0.15)) k = kw.toLowerCase();
    else if (chance(r, 0.05)) k = kw.toUpperCase();
    if (chance(r, 0.05)) k = `"${k}"`;
    const sep = pick(r, [" ", " ", " ", "\t", "=", "  "]);
    let v = value;
    if (chance(r, 0.08) && !/\s/.test(v)) v = `"${v}"`;
    const comment = chance(r, 0.08) ? pick(r, [" # for user tunnel-x", " # set by ops", "\t# Address 10.0.0.0/8"]) : "";
    const indent = pick(r, ["", "    ", "\t", "  "]);
    return `${indent}${k}${sep}${v}${comment}`;
}

/** What a case's Match lines name (the generator records it as it writes them). */
export interface Criteria {
    text: string;
    addrs: string[];
    wild: string[];
    hosts: string[];
    localAddrs: string[];
    localPorts: number[];
}

function criterion(r: Rand, c: Criteria): void {
    const kind = pick(r, ["User", "User", "Group", "Address", "Address", "Address", "Host", "LocalPort", "LocalAddress"]);
    const name = chance(r, 0.2) ? kind.toLowerCase() : chance(r, 0.05) ? kind.toUpperCase() : kind;
    const sep = chance(r, 0.1) ? "=" : pick(r, [" ", " ", "\t"]);
    let arg: string;
    switch (kind) {
        case "User":
            arg = pick(r, USERS);
            break;
        case "Group":
            arg = pick(r, GROUPS);
            break;
        case "Address": {
            const n = 1 + Math.floor(r() * 2);
            const parts: string[] = [];
            for (let i = 0; i < n; i++) {
                if (chance(r, 0.12)) {
                    const w = pick(r, WILD_ADDRS);
                    c.wild.push(w);
                    parts.push(w);
                } else {
                    const a = pick(r, NETS);
                    c.addrs.push(a);
                    parts.push(chance(r, 0.15) && i > 0 ? `!${a}` : a);
                }
            }
            // A list that is only negations matches nothing: keep a positive first.
            arg = parts.join(",");
            break;
        }
        case "Host": {
            const h = pick(r, HOSTS);
            c.hosts.push(h);
            arg = h;
            break;
        }
        case "LocalPort": {
            const p = pick(r, [22, 2022, 2222]);
            c.localPorts.push(p);
            arg = String(p);
            break;
        }
        default: {
            const a = pick(r, ["127.0.0.1", "::1", "10.0.0.0/8", "127.0.0.0/8"]);
            c.localAddrs.push(a);
            arg = a;
        }
    }
    if (chance(r, 0.06)) arg = `"${arg}"`;
    c.text += `${c.text ? pick(r, [" ", "\t"]) : ""}${name}${sep}${arg}`;
}

/** A Match line: `All` alone, or one to three criteria; possibly with a trailing comment. */
function matchLine(r: Rand, c: Criteria): string {
    if (chance(r, 0.08)) c.text = pick(r, ["All", "all"]);
    else {
        const n = chance(r, 0.5) ? 1 : 1 + Math.floor(r() * 3);
        for (let i = 0; i < n; i++) criterion(r, c);
    }
    const kw = pick(r, ["Match", "Match", "Match", "match", "MATCH"]);
    const comment = chance(r, 0.12) ? pick(r, [" # for user tunnel-x", "\t# Address 10.0.0.0/8", " #all"]) : "";
    return `${kw}${pick(r, [" ", "\t"])}${c.text}${comment}`;
}

function block(r: Rand, c: Criteria): string[] {
    const local: Criteria = { text: "", addrs: [], wild: [], hosts: [], localAddrs: [], localPorts: [] };
    const lines = [matchLine(r, local)];
    c.addrs.push(...local.addrs);
    c.wild.push(...local.wild);
    c.hosts.push(...local.hosts);
    c.localAddrs.push(...local.localAddrs);
    c.localPorts.push(...local.localPorts);
    const n = 1 + Math.floor(r() * 3);
    for (let i = 0; i < n; i++) {
        const [kw, vals] = pick(r, SETTINGS);
        lines.push(keywordLine(r, kw, pick(r, vals)));
    }
    return lines;
}

function text(lines: string[], crlf: boolean): string {
    return lines.join(crlf ? "\r\n" : "\n") + (crlf ? "\r\n" : "\n");
}

/** Generates case number `i` of the run with `seed`. */
export function generateCase(seed: number, i: number): DiffCase {
    const r = rng((seed ^ Math.imul(i + 1, 0x9e3779b1)) >>> 0);
    const c: Criteria = { text: "", addrs: [], wild: [], hosts: [], localAddrs: [], localPorts: [] };
    const files: Record<string, string> = {};
    const main: string[] = [];
    const crlf = chance(r, 0.1);
    const usedns = chance(r, 0.08);
    if (usedns) main.push("UseDNS yes");
    const ports = chance(r, 0.2) ? [22, 2022] : [22];
    for (const p of ports) main.push(`Port ${p}`);
    const listen = chance(r, 0.2) ? pick(r, [["127.0.0.1"], ["::1"], ["127.0.0.1", "::1"]]) : [];
    for (const a of listen) main.push(`ListenAddress ${a.includes(":") ? `[${a}]` : a}`);
    // A Match before the Include: sshd then reads the drop-ins inside that block.
    if (chance(r, 0.1)) main.push(block(r, c).join("\n"));
    const includeForms = ["Include /etc/ssh/sshd_config.d/*.conf", "Include sshd_config.d/*.conf", 'Include "/etc/ssh/sshd_config.d/*.conf"', "include /etc/ssh/sshd_config.d/*.conf", "Include=/etc/ssh/sshd_config.d/*.conf", "Include\t/etc/ssh/sshd_config.d/*.conf # drop-ins"];
    const hasInclude = chance(r, 0.75);
    if (hasInclude) main.push(pick(r, includeForms));
    if (chance(r, 0.3)) main.push(keywordLine(r, "AllowTcpForwarding", pick(r, ["yes", "no"])));
    if (chance(r, 0.2)) main.push("Subsystem sftp internal-sftp");
    const blocksInMain = Math.floor(r() * 3);
    const mainBlocks: string[][] = [];
    for (let b = 0; b < blocksInMain; b++) mainBlocks.push(block(r, c));
    // An Include inside a Match block whose file has its own Match.
    if (chance(r, 0.12)) {
        const outer = block(r, c);
        outer.push(`    Include ${pick(r, ["/etc/ssh/inner/*.conf", "inner/*.conf"])}`);
        mainBlocks.push(outer);
        files["inner/a.conf"] = text([...block(r, c), ...(chance(r, 0.5) ? block(r, c) : [])], false);
    }
    main.push(...mainBlocks.map((b) => b.join("\n")));
    files["sshd_config"] = text(main.join("\n").split("\n"), crlf);
    // Drop-ins before and after the policy's (00-reverse-ssh-tunnel-...).
    const dropins = Math.floor(r() * 4);
    for (let d = 0; d < dropins; d++) {
        const name = pick(r, ["00-aaa.conf", "0-first.conf", "00-rest.conf", "10-admin.conf", "50-cloud.conf", "99-last.conf"]);
        const lines: string[] = [];
        if (chance(r, 0.3)) lines.push(keywordLine(r, pick(r, ["AllowTcpForwarding", "X11Forwarding", "PermitTTY", "GatewayPorts", "AllowAgentForwarding", "PasswordAuthentication"]), pick(r, ["yes", "no"])));
        const nb = 1 + Math.floor(r() * 2);
        for (let b = 0; b < nb; b++) lines.push(...block(r, c));
        if (chance(r, 0.1)) {
            lines.push(`Include ${pick(r, ["/etc/ssh/nested/*.conf", "nested/*.conf"])}`);
            files["nested/n.conf"] = text(block(r, c), false);
        }
        files[`sshd_config.d/${name}`] = text(lines, chance(r, 0.1));
    }
    const account = chance(r, 0.5) ? "present" : "absent";
    return { files, placed: placedFor(files, hasInclude), account, probes: probesFor(c, usedns, ports, listen) };
}

/**
 * The files with the policy where the library puts it: a drop-in when sshd reads the
 * drop-in directory before any Match of sshd_config (the generator knows: it put the
 * Include first), else a managed block before sshd_config's first Match line.
 */
export function placedFor(files: Record<string, string>, hasInclude: boolean): Record<string, string> {
    const block = renderMatchBlock({ user: CASE_USER, listenPorts: [CASE_PORT] });
    const lines = files["sshd_config"].split(/\n/);
    const firstMatch = lines.findIndex((l) => /^\s*"?match"?[\s=]/i.test(l));
    const includeAt = lines.findIndex((l) => /^\s*"?include"?[\s=]/i.test(l) && l.includes("sshd_config.d/*.conf"));
    if (hasInclude && includeAt >= 0 && (firstMatch < 0 || includeAt < firstMatch)) {
        return { ...files, [`sshd_config.d/${DROPIN_NAME}`]: block };
    }
    const { begin, end } = managedBlockMarkers(CASE_USER);
    const managed = `${begin}\n${block}Match all\n${end}`.split("\n");
    const at = firstMatch < 0 ? lines.length - 1 : firstMatch;
    return { ...files, sshd_config: [...lines.slice(0, at), ...managed, ...lines.slice(at)].join("\n") };
}

/** IPv4/IPv6 network to [first, last] as BigInt, with its bit width. */
function range(net: string): { first: bigint; last: bigint; v6: boolean } {
    const [addr, len] = net.split("/");
    const v6 = addr.includes(":");
    const bits = v6 ? 128 : 32;
    let value = 0n;
    if (v6) {
        const [head, tail] = addr.includes("::") ? addr.split("::") : [addr, undefined];
        const h = head ? head.split(":") : [];
        const t = tail !== undefined && tail !== "" ? tail.split(":") : [];
        const groups = [...h, ...Array(8 - h.length - t.length).fill("0"), ...t];
        for (const g of groups) value = (value << 16n) | BigInt(parseInt(g, 16));
    } else {
        for (const o of addr.split(".")) value = (value << 8n) | BigInt(Number(o));
    }
    const prefix = BigInt(len === undefined ? bits : Number(len));
    const size = 1n << (BigInt(bits) - prefix);
    const first = (value / size) * size;
    return { first, last: first + size - 1n, v6 };
}

function fmt(v: bigint, v6: boolean): string {
    if (!v6) return [24n, 16n, 8n, 0n].map((s) => String((v >> s) & 255n)).join(".");
    const g = Array.from({ length: 8 }, (_, i) => Number((v >> BigInt(112 - 16 * i)) & 0xffffn));
    // inet_ntop: the longest run (two or more) of zero groups becomes "::".
    let best = -1;
    let bestLen = 1;
    for (let i = 0; i < 8; ) {
        if (g[i] !== 0) {
            i++;
            continue;
        }
        let j = i;
        while (j < 8 && g[j] === 0) j++;
        if (j - i > bestLen) {
            best = i;
            bestLen = j - i;
        }
        i = j;
    }
    const hex = g.map((x) => x.toString(16));
    if (best < 0) return hex.join(":");
    return `${hex.slice(0, best).join(":")}::${hex.slice(best + bestLen).join(":")}`;
}

/** Every member of a wildcard address pattern the generator uses, and non-members beside it. */
function wildMembers(w: string): string[] {
    return [w.replace(/\*/g, "5").replace(/\?/g, "5"), w.replace(/\*/g, "0.1").replace(/\?/g, "9"), w.replace(/\*/g, "200").replace(/\?/g, "0")].filter((a) => /^\d+\.\d+\.\d+\.\d+$/.test(a));
}

/** Probe connections for what a case names, on the sandbox's loopback-only listeners. */
export function probesFor(c: Criteria, usedns: boolean, ports: number[], listen: string[]): string[] {
    const srcSet = new Set<string>(["203.0.113.1", "::1"]);
    const bySource = c.addrs.length + c.wild.length + c.hosts.length > 0;
    if (bySource) {
        for (const n of c.addrs) {
            const { first, last, v6 } = range(n);
            const max = v6 ? (1n << 128n) - 1n : (1n << 32n) - 1n;
            for (const v of [first, last, first > 0n ? first - 1n : first, last < max ? last + 1n : last, first + (last - first) / 2n]) srcSet.add(fmt(v, v6));
        }
        for (const w of c.wild) for (const m of wildMembers(w)) srcSet.add(m);
        // Host patterns are matched against the address text when names are not looked up.
        for (const h of c.hosts) for (const m of wildMembers(h)) srcSet.add(m);
        srcSet.add("10.0.0.1").add("192.168.0.1").add("172.16.0.1");
    }
    const hostNames = (addr: string): string[] => {
        if (!usedns || c.hosts.length === 0) return [addr];
        const names = new Set<string>([addr, "nomatch.example.net"]);
        for (const h of c.hosts) names.add(h.replace(/\*/g, "x").replace(/\?/g, "1"));
        return [...names];
    };
    // The sandbox has only loopback: a wildcard listener means 127.0.0.1 and ::1.
    const laddrs = listen.length > 0 ? listen : ["127.0.0.1", "::1"];
    const byListener = c.localAddrs.length + c.localPorts.length > 0;
    const pairs: Array<[string, number]> = [];
    for (const a of laddrs) for (const p of ports) pairs.push([a, p]);
    const listeners = byListener ? pairs : [pairs[0]];
    const sources = bySource ? [...srcSet] : ["203.0.113.1"];
    const out: string[] = [];
    for (const a of sources) for (const h of hostNames(a)) for (const [la, lp] of listeners) out.push(`user=${CASE_USER},host=${h},addr=${a},laddr=${la},lport=${lp}`);
    return out;
}
