import * as pulumi from "@pulumi/pulumi";
import { HostConnection } from "../connection";
import { ConfigError } from "../validation";

/**
 * The tunnels of one program run, checked together at construction: two tunnels on
 * the same main with the same name, port or tunnel account would each pass preview
 * and then overwrite or lock out the other on the host (same account, same
 * `ssh backup-NAME` file, a port only one can listen on). Comparing them here refuses
 * the program before any host is touched, naming both tunnels.
 */

/** What one tunnel claims on its main. */
export interface TunnelClaim {
    /** Backup name (`ssh backup-NAME`, unit and file names). */
    readonly name: string;
    /** The component's resource name (differs from `name` for halves built side by side). */
    readonly resourceName: string;
    /** Every port it listens on, on main's loopback: the tunnel's `port` first, then its extra forwards. */
    readonly ports: readonly number[];
    /** Its tunnel account on main. */
    readonly tunnelUser: string;
}

/**
 * Registrations per program run. Keyed by the resource monitor because it is what one
 * run has to itself: an Automation API process runs several programs (each with its
 * own monitor) and a mock-based test file installs new mocks per test; a plain
 * module-level map would compare tunnels of unrelated runs. Outside any run (no
 * monitor) a single registry stands in.
 */
const outsideAnyRun: object = {};
const values = new WeakMap<object, Map<() => object, object>>();

/**
 * A value of this program run, made by `make` on the first call of the run (per
 * `make`: each caller keeps its own), the same value on every later call.
 */
export function perRun<T extends object>(make: () => T): T {
    const key: object = pulumi.runtime.getMonitor() ?? outsideAnyRun;
    let byMake = values.get(key);
    if (byMake === undefined) values.set(key, (byMake = new Map()));
    let v = byMake.get(make) as T | undefined;
    if (v === undefined) byMake.set(make, (v = make()));
    return v;
}

const newClaims = () => new Map<string, TunnelClaim[]>();
const registryOfThisRun = () => perRun(newClaims);

/** A host value known now as a string: lower-cased, without a DNS root dot. */
function plainHost(v: unknown): string | undefined {
    return typeof v === "string" ? v.toLowerCase().replace(/\.$/, "") : undefined;
}

/** A port known now (22 when not given). */
function plainPort(v: unknown): number | undefined {
    return v === undefined ? 22 : typeof v === "number" ? v : undefined;
}

/**
 * The identity of main as Pulumi dials it (`host:port`, behind its jump host if any),
 * or undefined when any part is not a plain value yet (an Output): such a tunnel is
 * not compared, since its main may be any host. Two spellings of one host (an address
 * and a DNS name) count as two mains: the check refuses only certain clashes.
 */
export function mainIdentity(main: HostConnection): string | undefined {
    const hop = (h: { host: unknown; port?: unknown }) => {
        const host = plainHost(h.host);
        const port = plainPort(h.port);
        return host === undefined || port === undefined ? undefined : `${host.includes(":") ? `[${host}]` : host}:${port}`;
    };
    const self = hop(main);
    if (self === undefined) return undefined;
    if (main.proxy === undefined) return self;
    const via = hop(main.proxy);
    return via === undefined ? undefined : `${via} -> ${self}`;
}

/** How a tunnel is named in an error: its backup name, and its resource name when that differs. */
function label(c: TunnelClaim): string {
    return c.resourceName === c.name ? `backup ${JSON.stringify(c.name)}` : `backup ${JSON.stringify(c.name)} (resource ${JSON.stringify(c.resourceName)})`;
}

/**
 * Records `claim` for main `main`, after checking it against the tunnels of this run
 * already recorded for the same main. Nothing is recorded when it is refused, so a
 * program that catches the error is not left with a phantom claim.
 *
 * @throws ConfigError naming both tunnels when the name, a port or the tunnel account is already taken on that main.
 */
export function claimOnMain(main: HostConnection, claim: TunnelClaim): void {
    const id = mainIdentity(main);
    if (id === undefined) return;
    const registry = registryOfThisRun();
    const others = registry.get(id) ?? [];
    for (const other of others) {
        const clash = (key: string, what: string) => {
            throw new ConfigError(key, `${what} is already used by ${label(other)} on main ${id}; each tunnel on a main needs its own`, claim.name);
        };
        if (other.name === claim.name) clash("name", `the name ${JSON.stringify(claim.name)}${claim.resourceName !== claim.name ? ` (resource ${JSON.stringify(claim.resourceName)})` : ""}`);
        const port = claim.ports.find((p) => other.ports.includes(p));
        if (port !== undefined) clash(port === claim.ports[0] ? "port" : "extraForwards", `port ${port}`);
        if (other.tunnelUser === claim.tunnelUser) clash("tunnelUser", `the tunnel account ${JSON.stringify(claim.tunnelUser)}`);
    }
    registry.set(id, [...others, claim]);
}
