/**
 * Two made-up tunnels, as different from each other as real ones are (main by name and
 * by address, one forward and two, root and pi): what the host libraries are built
 * from (the script sections equal in both are library code) and what the renderers
 * compare to find the lines of a file that are the same for every tunnel.
 */
import type { TunnelServiceRenderArgs } from "../service/render";
import type { SshdMatchBlockRenderArgs } from "../sshd/render";

/** Two unrelated public keys for the samples (only their text differs). */
export const SAMPLE_KEYS = [
    "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIAEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEB",
    "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIAICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgIC",
] as const;

/** One sample tunnel's settings, the same names the renderers take. */
export interface SampleTunnel {
    /** Backup name. */
    readonly name: string;
    /** Tunnel account on main. */
    readonly user: string;
    /** Owner written into every entry. */
    readonly owner: string;
    /** Main's loopback ports of the tunnel's forwards. */
    readonly ports: number[];
    /** What the backup dials. */
    readonly mainHost: string;
    /** Main's SSH port. */
    readonly mainPort: number;
    /** The forwards, as TunnelServiceRenderArgs takes them. */
    readonly forwards: Array<{ remotePort: number; localPort?: number }>;
    /** Main's pinned host key, and the backup's. */
    readonly mainHostKey: string;
    readonly backupHostKey: string;
    /** What the service install reads on the backup. */
    readonly backupFacts: { loginUser: string; sshPort?: number };
}

/** Sample tunnel `i` (0 or 1). */
export function sampleTunnel(i: 0 | 1): SampleTunnel {
    const name = ["alpha", "bravo"][i]!;
    return {
        name,
        user: `tunnel-${name}`,
        owner: `org-${i}/project-${i}/stack-${i}/${name}`,
        ports: [[2201], [2302, 2303]][i]!,
        mainHost: ["main.example.org", "192.0.2.7"][i]!,
        mainPort: [22, 2222][i]!,
        forwards: [[{ remotePort: 2201 }], [{ remotePort: 2302, localPort: 2022 }, { remotePort: 2303, localPort: 80 }]][i]!,
        mainHostKey: SAMPLE_KEYS[i],
        backupHostKey: SAMPLE_KEYS[1 - i]!,
        backupFacts: [{ loginUser: "root" }, { loginUser: "pi", sshPort: 2022 }][i]!,
    };
}

/** Sample tunnel `i`'s sshd policy, as a ReverseTunnel renders it. */
export function samplePolicyArgs(i: 0 | 1): SshdMatchBlockRenderArgs {
    const t = sampleTunnel(i);
    return { user: t.user, listenPorts: t.ports, owner: t.owner, description: `backup ${t.name}` };
}

/** Sample tunnel `i`'s service settings (reached directly, no backup facts). */
export function sampleServiceArgs(i: 0 | 1): TunnelServiceRenderArgs {
    const t = sampleTunnel(i);
    return { name: t.name, mainHost: t.mainHost, mainPort: t.mainPort, tunnelUser: t.user, mainHostKeys: [t.mainHostKey], forwards: t.forwards, owner: t.owner };
}
