/**
 * The sshd policy for one tunnel account, as data: what the `Match User` block says
 * and what `sshd -T -C user=...` must report afterwards. One table drives both the
 * rendered block and the post-write verification, so they cannot drift apart.
 */

/** Where root-owned authorized-keys files live (`%u` is expanded by sshd). */
export const AUTHORIZED_KEYS_DIR = "/etc/ssh/reverse-ssh-tunnel/authorized_keys";

/** The command sshd runs for any session request; sessions are refused before that anyway. */
export const FORCED_COMMAND = "/bin/false";

/**
 * Server-side keepalive. A tunnel whose backup vanished silently is torn down after
 * about interval x (count + 1) seconds (~20 s), which frees its listen port for the
 * reconnecting backup. Chosen together with the client's ServerAlive/ConnectTimeout.
 */
export const CLIENT_ALIVE = { interval: 5, countMax: 3 } as const;

/** Inputs of the policy. */
export interface TunnelPolicyArgs {
    /** The tunnel account on main. */
    readonly user: string;
    /** Ports on main's loopback that this account alone may listen on (`-R`). */
    readonly listenPorts: readonly number[];
}

/** One sshd_config keyword with the value written and the value `sshd -T` must show. */
export interface PolicySetting {
    /** Keyword as written in the block. */
    readonly keyword: string;
    /** Value as written in the block. */
    readonly value: string;
    /**
     * Value `sshd -T` must report (lower-case keyword); `undefined` when the keyword is
     * not reported by `sshd -T` on every supported version.
     */
    readonly effective?: string;
}

/**
 * The listen specifications, in the exact form the client requests them. IPv4
 * loopback only: `localhost` would also bind ::1, where another local user could
 * already hold the port and receive main's connections.
 */
export function permitListenValue(ports: readonly number[]): string {
    return ports.map((p) => `127.0.0.1:${p}`).join(" ");
}

/**
 * The ordered settings of the `Match User` block. Forwarding is enabled only for the
 * remote direction and only on the listed loopback ports; everything else an
 * authenticated key could ask for is switched off explicitly, so that a permissive
 * global config (or a later change of defaults) cannot widen it.
 */
export function tunnelPolicy(args: TunnelPolicyArgs): PolicySetting[] {
    const listen = permitListenValue(args.listenPorts);
    const s = (keyword: string, value: string, effective: string | undefined = value): PolicySetting => ({
        keyword,
        value,
        effective,
    });
    return [
        s("AuthorizedKeysFile", `${AUTHORIZED_KEYS_DIR}/%u`),
        s("AuthorizedKeysCommand", "none"),
        s("AuthorizedPrincipalsFile", "none"),
        s("TrustedUserCAKeys", "none"),
        s("AuthenticationMethods", "publickey"),
        s("PubkeyAuthentication", "yes"),
        s("PasswordAuthentication", "no"),
        s("KbdInteractiveAuthentication", "no"),
        s("HostbasedAuthentication", "no"),
        s("PermitEmptyPasswords", "no"),
        // A hardened global `DisableForwarding yes` would otherwise veto the tunnel.
        s("DisableForwarding", "no"),
        s("AllowTcpForwarding", "remote"),
        s("AllowStreamLocalForwarding", "no"),
        s("PermitListen", listen),
        s("PermitOpen", "none"),
        s("GatewayPorts", "no"),
        s("X11Forwarding", "no"),
        s("AllowAgentForwarding", "no"),
        s("PermitTunnel", "no"),
        s("PermitTTY", "no"),
        s("PermitUserRC", "no"),
        // Closes internal-sftp and any other subsystem: ForceCommand replaces them.
        s("ForceCommand", FORCED_COMMAND),
        // `ssh -N` needs no session; refusing all of them closes shell/exec/sftp/scp.
        s("MaxSessions", "0"),
        // The rotation finalizer tells sessions apart by the key fingerprint sshd logs at
        // INFO ("Accepted publickey ... SHA256:..."); a host set to QUIET/ERROR would hide it.
        s("LogLevel", "INFO"),
        s("ClientAliveInterval", String(CLIENT_ALIVE.interval)),
        s("ClientAliveCountMax", String(CLIENT_ALIVE.countMax)),
    ];
}

/**
 * Effective values that must hold although the block does not set them, because
 * they would break the tunnel. Checked only where the running sshd reports them.
 */
export const REQUIRED_UNSET: ReadonlyArray<{ keyword: string; effective: string; why: string }> = [
    {
        keyword: "UnusedConnectionTimeout",
        effective: "none",
        why: "a pure -R tunnel has no open channels and would be closed",
    },
];
