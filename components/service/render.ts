import { GECOS_OWNER_PREFIX, OWNERSHIP_FUNCTIONS, ownerLine, ownershipVariables } from "../ownership/render";
import { ACCOUNT_MARKER, bash, commonLines, fileWordSections, heredoc, renderScript, shQuote } from "../shell";
import { sampleServiceArgs, sampleTunnel } from "../library/samples";
import { HOST_KEY_FILES } from "../tunnel/render";
import { ConfigError, isIpLiteral, parseHostKeyList, parsePublicKey, validateHost, validatePort, validateTunnelName, validateUserName } from "../validation";

/** One reverse forward: main's `127.0.0.1:remotePort` reaches the backup's `localHost:localPort`. */
export interface ForwardSpec {
    /** Port on main's loopback (1024-65535). */
    readonly remotePort: number;
    /** Target port on the backup side. Default 22. */
    readonly localPort?: number;
    /** Target host as seen from the backup. Default `127.0.0.1`. */
    readonly localHost?: string;
}

/**
 * Client-side timing. Dead-link detection is ServerAliveInterval x CountMax, a hung
 * connect or key exchange is cut by ConnectTimeout, and systemd restarts after
 * RestartSec; the server side frees a dead session's port after
 * ClientAliveInterval x (CountMax + 1). Together they bound recovery after a fault ends
 * to about ConnectTimeout + RestartSec.
 */
export const CLIENT_TIMING = {
    serverAliveInterval: 5,
    serverAliveCountMax: 3,
    connectTimeout: 10,
    restartSec: 3,
} as const;

/** Inputs of the backup-side renderers. */
export interface TunnelServiceRenderArgs {
    /** Tunnel name: unit `reverse-ssh-tunnel-<name>.service`, files under `/etc/reverse-ssh-tunnel/<name>/`. */
    readonly name: string;
    /** Main's address as the backup dials it (public name or IP). */
    readonly mainHost: string;
    /** Main's SSH port as the backup dials it. Default 22. */
    readonly mainPort?: number;
    /** Tunnel account on main. */
    readonly tunnelUser: string;
    /** Main's host keys (OpenSSH lines), pinned in the tunnel's own known_hosts. */
    readonly mainHostKeys: readonly string[];
    /** Reverse forwards; the first is the SSH port main uses to reach the backup. */
    readonly forwards: readonly ForwardSpec[];
    /** Local account the service runs as. Default `rst-<name>`. */
    readonly serviceUser?: string;
    /**
     * Pulumi reaches the backup through main and this very tunnel (`via: main`): a
     * restart or removal of the unit would cut the connection running the script,
     * so those are scheduled 2 s after the script ends instead of awaited; main's
     * rotation finalizer then waits for the tunnel to come back. Default false.
     */
    readonly viaTunnel?: boolean;
    /**
     * Owner written into the unit and the service account's GECOS, and checked on the
     * backup before any change (see components/ownership). Default: none, no mark and
     * no check (the renderers' own tests); the components always give one.
     */
    readonly owner?: string;
    /** Take over the unit, its files and account from another owner. Default false. */
    readonly adopt?: boolean;
    /**
     * Read on the backup by the install itself instead of given (a ReverseTunnel's own
     * service: one login and one record less per backup than a separate read): the first
     * forward targets where the backup's own sshd listens, `loginUser` must exist there,
     * and the install prints the backup's host keys ({@link parseBackupHostKeys} reads
     * them from its output). Default: none, the forwards go where they say.
     */
    readonly backupFacts?: BackupFactsArgs;
    /**
     * Main checks the tunnel once this install ends (a ReverseTunnel with both halves:
     * its finalizer on main waits for the account's session with the current key and
     * its listeners), so the install starts the unit without waiting itself, and prints
     * the unit's invocation ({@link parseTunnelRun}) so that every start makes main check
     * again. Default false: the install waits until ssh has run 5 s without a restart.
     */
    readonly awaitedByMain?: boolean;
}

/** What the service install reads on the backup (see `TunnelServiceRenderArgs.backupFacts`). */
export interface BackupFactsArgs {
    /** The account `ssh backup-<name>` logs into on the backup: the install fails when it does not exist. */
    readonly loginUser: string;
    /** The backup sshd's port, when known; the address is still read. Default: read (its ssh.socket, else `sshd -T`). */
    readonly sshPort?: number;
}

/**
 * Stand-ins in the rendered files for what the install reads on the backup
 * (`backupFacts`): the first forward's target (`ADDRESS:PORT`) and, in the unit's
 * `IPAddressAllow=`, that address when it is not loopback. Never valid in their
 * places, so nothing the renderers validated can contain them.
 */
const TARGET_TOKEN = "RST_BACKUP_SSHD_TARGET";
const ALLOW_TOKEN = "RST_BACKUP_SSHD_ALLOW";

/** How the install prints each of the backup's host keys: a progress note, and what {@link parseBackupHostKeys} reads. */
const HOST_KEY_NOTE = "reverse-ssh-tunnel: host key of this backup:";
/** The note naming the tunnel unit's current run (systemd's InvocationID), after `reverse-ssh-tunnel: `. */
const TUNNEL_RUN_NOTE = "tunnel unit run:";

/**
 * The tunnel unit's run (its systemd InvocationID, 32 hex digits) from the output of
 * an install with `awaitedByMain`, or "" when it names none (a restart scheduled
 * through the tunnel): a new value on every start of the unit.
 */
export function parseTunnelRun(out: string): string {
    const m = new RegExp(`^reverse-ssh-tunnel: ${TUNNEL_RUN_NOTE} ([0-9a-f]{32})$`, "m").exec(out);
    return m?.[1] ?? "";
}

/**
 * The first section of main's finalizer for a tunnel run ({@link parseTunnelRun}):
 * only a value, so that each start of the backup's unit changes the command and main
 * checks that run.
 */
export function tunnelRunScript(run: string): string {
    if (!/^([0-9a-f]{32})?$/.test(run)) throw new Error(`invalid tunnel unit run ${JSON.stringify(run)}`);
    return renderScript(`# shellcheck disable=SC2034 # the backup's tunnel unit run that main checks
rst_tunnel_run=${run === "" ? "''" : run}`);
}

/** The backup's host keys (`type base64` lines) from the output of a service install with `backupFacts`. */
export function parseBackupHostKeys(key: string, out: string): string[] {
    const lines = out.split("\n").filter((l) => l.startsWith(`${HOST_KEY_NOTE} `)).map((l) => l.slice(HOST_KEY_NOTE.length + 1));
    return parseHostKeyList(key, lines.join("\n")).map((k) => k.line);
}

/** A syntactically valid key used to validate settings before the real keys are known. */
export const PLACEHOLDER_KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl";

/** Paths and names the backup side uses for tunnel `name`. */
export function servicePaths(name: string) {
    const dir = `/etc/reverse-ssh-tunnel/${name}`;
    return {
        dir,
        sshConfig: `${dir}/ssh_config`,
        knownHosts: `${dir}/known_hosts`,
        privateKey: `${dir}/id_tunnel`,
        unitName: `reverse-ssh-tunnel-${name}.service`,
        unitPath: `/etc/systemd/system/reverse-ssh-tunnel-${name}.service`,
        hostAlias: `reverse-ssh-tunnel-${name}-main`,
    };
}

/** Default local account for the service. */
export function defaultServiceUser(name: string): string {
    return `rst-${name}`;
}

interface Checked extends Required<Omit<TunnelServiceRenderArgs, "forwards" | "viaTunnel" | "owner" | "adopt" | "backupFacts" | "awaitedByMain">> {
    forwards: Required<ForwardSpec>[];
    hostKeyLines: string[];
}

function check(args: TunnelServiceRenderArgs): Checked {
    validateTunnelName("name", args.name);
    validateHost("mainHost", args.mainHost);
    const mainPort = validatePort("mainPort", args.mainPort ?? 22);
    validateUserName("tunnelUser", args.tunnelUser);
    const serviceUser = validateUserName("serviceUser", args.serviceUser ?? defaultServiceUser(args.name));
    if (args.forwards.length === 0) {
        throw new ConfigError("forwards", "at least one forward is required");
    }
    const forwards = args.forwards.map((f, i) => ({
        remotePort: validatePort(`forwards[${i}].remotePort`, f.remotePort, 1024),
        localPort: validatePort(`forwards[${i}].localPort`, f.localPort ?? 22),
        localHost: validateHost(`forwards[${i}].localHost`, f.localHost ?? "127.0.0.1"),
    }));
    if (args.mainHostKeys.length === 0) {
        throw new ConfigError("mainHostKeys", "at least one host key of main is required (never trust on first use)");
    }
    const hostKeyLines = args.mainHostKeys.map((k, i) => parsePublicKey(`mainHostKeys[${i}]`, k).line);
    if (args.owner !== undefined) ownerLine(args.owner);
    if (args.backupFacts !== undefined) {
        validateUserName("loginUser", args.backupFacts.loginUser);
        if (args.backupFacts.sshPort !== undefined) validatePort("backupSshPort", args.backupFacts.sshPort);
    }
    const { viaTunnel: _via, owner: _owner, adopt: _adopt, backupFacts: _facts, ...rest } = args;
    return { ...rest, mainPort, serviceUser, forwards, hostKeyLines };
}

function bracketIfV6(host: string): string {
    return host.includes(":") ? `[${host}]` : host;
}

/**
 * The ssh client configuration used with `ssh -F` (so no system or user config can
 * change it): pinned host key under an alias, no agent, no password, no other
 * forwarding, fail fast when the forward cannot be set up.
 */
export function renderSshClientConfig(args: TunnelServiceRenderArgs): string {
    const a = check(args);
    const p = servicePaths(a.name);
    const t = CLIENT_TIMING;
    const lines = [
        `# reverse-ssh-tunnel: client settings of tunnel ${a.name}. Managed by Pulumi.`,
        `Host reverse-ssh-tunnel-main`,
        `    HostName ${a.mainHost}`,
        `    Port ${a.mainPort}`,
        `    User ${a.tunnelUser}`,
        `    HostKeyAlias ${p.hostAlias}`,
        `    UserKnownHostsFile ${p.knownHosts}`,
        `    GlobalKnownHostsFile /dev/null`,
        `    StrictHostKeyChecking yes`,
        `    CheckHostIP no`,
        `    UpdateHostKeys no`,
        `    VerifyHostKeyDNS no`,
        `    BatchMode yes`,
        `    IdentitiesOnly yes`,
        `    IdentityAgent none`,
        `    PreferredAuthentications publickey`,
        `    PasswordAuthentication no`,
        `    KbdInteractiveAuthentication no`,
        `    ForwardAgent no`,
        `    ForwardX11 no`,
        `    ClearAllForwardings no`,
        ...a.forwards.map((f, i) => `    RemoteForward 127.0.0.1:${f.remotePort} ${i === 0 && args.backupFacts !== undefined ? TARGET_TOKEN : `${bracketIfV6(f.localHost)}:${f.localPort}`}`),
        `    ExitOnForwardFailure yes`,
        `    RequestTTY no`,
        `    ServerAliveInterval ${t.serverAliveInterval}`,
        `    ServerAliveCountMax ${t.serverAliveCountMax}`,
        `    ConnectTimeout ${t.connectTimeout}`,
        `    ConnectionAttempts 1`,
        `    TCPKeepAlive yes`,
        `    ControlMaster no`,
        `    ControlPath none`,
        `    PermitLocalCommand no`,
        `    EscapeChar none`,
        `    LogLevel INFO`,
    ];
    return `${lines.join("\n")}\n`;
}

/** known_hosts content: main's keys under the tunnel's host alias only. */
export function renderKnownHosts(args: TunnelServiceRenderArgs): string {
    const a = check(args);
    const alias = servicePaths(a.name).hostAlias;
    return `${a.hostKeyLines.map((k) => `${alias} ${k}`).join("\n")}\n`;
}

/**
 * The systemd unit. ssh runs as an unprivileged account in a tight sandbox; the key
 * reaches it through `LoadCredential=` (the file on disk stays root-only 0600). It
 * waits for the network, restarts forever, and never hits the start rate limit.
 */
export function renderUnit(args: TunnelServiceRenderArgs): string {
    const a = check(args);
    const p = servicePaths(a.name);
    const ip = isIpLiteral(a.mainHost);
    // With main as an IP literal the unit may only reach main and the forwards'
    // targets; a target given by name cannot be pinned, so then nothing is pinned.
    // A target read on the backup is an address (the install checks it) and joins the list there.
    const targets = a.forwards
        .filter((_f, i) => i > 0 || args.backupFacts === undefined)
        .map((f) => f.localHost)
        .filter((h) => h !== "localhost" && h !== "::1" && !h.startsWith("127."));
    const pin = ip && targets.every(isIpLiteral);
    const families = ip ? "AF_INET AF_INET6" : "AF_INET AF_INET6 AF_UNIX";
    const ports = a.forwards.map((f) => f.remotePort).join(",");
    const lines = [
        `# reverse-ssh-tunnel: tunnel ${a.name}. Managed by Pulumi.`,
        ...(args.owner !== undefined ? [ownerLine(args.owner)] : []),
        `[Unit]`,
        unitDescription(a.name, a.mainHost, ports),
        `Wants=network-online.target`,
        `After=network-online.target`,
        `StartLimitIntervalSec=0`,
        ``,
        `[Service]`,
        `Type=exec`,
        `User=${a.serviceUser}`,
        `Group=${a.serviceUser}`,
        `LoadCredential=tunnel-key:${p.privateKey}`,
        `ExecStart=/usr/bin/ssh -N -F ${p.sshConfig} -i %d/tunnel-key reverse-ssh-tunnel-main`,
        `Restart=always`,
        `RestartSec=${CLIENT_TIMING.restartSec}`,
        `TimeoutStopSec=5`,
        `UMask=0077`,
        `NoNewPrivileges=yes`,
        `CapabilityBoundingSet=`,
        `AmbientCapabilities=`,
        `ProtectSystem=strict`,
        `ProtectHome=yes`,
        `PrivateTmp=yes`,
        `PrivateDevices=yes`,
        `PrivateUsers=yes`,
        `PrivateIPC=yes`,
        `DevicePolicy=closed`,
        `ProtectClock=yes`,
        `ProtectHostname=yes`,
        `ProtectKernelTunables=yes`,
        `ProtectKernelModules=yes`,
        `ProtectKernelLogs=yes`,
        `ProtectControlGroups=yes`,
        `ProtectProc=invisible`,
        `ProcSubset=pid`,
        `RestrictAddressFamilies=${families}`,
        `RestrictNamespaces=yes`,
        `RestrictRealtime=yes`,
        `RestrictSUIDSGID=yes`,
        `LockPersonality=yes`,
        `MemoryDenyWriteExecute=yes`,
        `RemoveIPC=yes`,
        `KeyringMode=private`,
        `SystemCallArchitectures=native`,
        `SystemCallFilter=@system-service`,
        `SystemCallFilter=~@privileged @resources`,
        `SystemCallErrorNumber=EPERM`,
        ...(pin ? [`IPAddressDeny=any`, `IPAddressAllow=${["localhost", a.mainHost, ...new Set(targets)].join(" ")}${args.backupFacts !== undefined ? ALLOW_TOKEN : ""}`] : []),
        ``,
        `[Install]`,
        `WantedBy=multi-user.target`,
    ];
    return `${lines.join("\n")}\n`;
}

/** The unit's Description line: what identifies a unit written before ownership marks as this tunnel's. */
function unitDescription(name: string, mainHost: string, ports: string): string {
    return `Description=Reverse SSH tunnel ${name} to ${mainHost} (main's loopback port ${ports})`;
}

/** The service account's GECOS field. */
function serviceGecos(owner: string | undefined): string {
    return `${ACCOUNT_MARKER} service${owner !== undefined ? ` ${GECOS_OWNER_PREFIX}${owner}` : ""}`;
}

/**
 * Ownership check on the backup, under the services lock, before any change: the unit
 * (and the service account) must be ours or adopted. The key install runs first and
 * does not know the unit's content: it refuses only a unit marked by another owner;
 * the service install also refuses an unmarked unit whose Description (name, main,
 * ports) is not ours.
 */
function backupOwnershipCheck(legacyIdent?: string): string {
    return bash`rst_own_found=$(rst_mark_of "$rst_unit_path")
if [ -n "$rst_own_found" ]; then
    rst_claim "the unit $rst_unit on this backup" "$rst_own_found"
${
        legacyIdent !== undefined
            ? `elif [ -f "$rst_unit_path" ] && ! rst_has_lines "$rst_unit_path" ${shQuote(legacyIdent)}; then
    rst_unmarked "the unit $rst_unit on this backup"
`
            : ""
    }fi
rst_own_found=$(rst_gecos_owner "$rst_user")
[ -z "$rst_own_found" ] || rst_claim "the service account $rst_user on this backup" "$rst_own_found"`;
}

/**
 * What the install reads on the backup with `backupFacts`, before any change: the
 * login account must exist, and each host key is printed (HOST_KEY_NOTE); then
 * {@link FIND_BACKUP_SSHD}.
 */
const READ_BACKUP_LOGIN_AND_HOST_KEYS = bash`getent passwd "$rst_login" >/dev/null ||
    rst_fail "loginUser '$rst_login' does not exist on this backup, so 'ssh backup-<name>' from main could not log in; set loginUser to an account that exists here (Raspberry Pi OS has had no 'pi' account since 2022: the owner picks the first user)"
rst_found=0
for rst_f in ${HOST_KEY_FILES}; do
    if [ -r "$rst_f" ] && read -r rst_kt rst_kb _ <"$rst_f"; then
        printf '%s %s %s\n' '${HOST_KEY_NOTE}' "$rst_kt" "$rst_kb"
        rst_found=1
    fi
done
[ "$rst_found" = 1 ] || rst_fail "no readable host keys in /etc/ssh"`;

/**
 * Where the backup's sshd listens (its ssh.socket's own address under socket
 * activation, else `sshd -T`; the first listener that covers loopback, else the first
 * one; the port `rst_sshd_port` instead when set) as the first forward's target
 * `rst_target` (`ADDRESS:PORT`), and `rst_target_allow` for the unit's
 * `IPAddressAllow=` (the address when it is not loopback). Exported for its tests.
 */
export const FIND_BACKUP_SSHD = bash`rst_listen=""
if command -v systemctl >/dev/null 2>&1 && [ -d /run/systemd/system ]; then
    for rst_f in ssh.socket sshd.socket; do
        if systemctl is-active --quiet "$rst_f"; then
            rst_listen=$(systemctl show -P Listen "$rst_f" | awk '{ print $1 }')
            break
        fi
    done
fi
if [ -z "$rst_listen" ]; then
    rst_f=$(command -v sshd || echo /usr/sbin/sshd)
    rst_listen=$("$rst_f" -T 2>/dev/null | awk '$1 == "listenaddress" { print $2 }') || true
fi
rst_target=$(printf '%s\n' "$rst_listen" | awk '
    $1 != "" {
        spec = $1
        if (spec ~ /^\[/) { a = substr(spec, 2, index(spec, "]") - 2); p = substr(spec, index(spec, "]:") + 2) }
        else if (spec ~ /^[0-9]+$/) { a = "0.0.0.0"; p = spec }
        else { a = spec; p = spec; sub(/:[0-9]+$/, "", a); sub(/^.*:/, "", p) }
        if (a == "0.0.0.0" || a == "::" || a ~ /^127\./ || a == "::1") { if (!lp) lp = p }
        else if (!fa) { fa = a; fp = p }
    }
    END {
        if (lp) print "127.0.0.1", lp
        else if (fa) print fa, fp
    }')
read -r rst_target_host rst_target_port _ <<<"$rst_target"
[ -z "$rst_sshd_port" ] || rst_target_port=$rst_sshd_port
# Both go into the tunnel's files: an address and a port, nothing else.
if ! [[ "$\{rst_target_host:-}" =~ ^[0-9A-Fa-f:.]+$ && "$\{rst_target_port:-}" =~ ^[1-9][0-9]{0,4}$ ]] || [ "$rst_target_port" -gt 65535 ]; then
    rst_fail "could not find where this backup's sshd listens (ssh.socket, sshd -T: '$\{rst_listen//$'\n'/ }'); set backupSshPort"
fi
case "$rst_target_host" in
*:*) rst_target="[$rst_target_host]:$rst_target_port" ;;
*) rst_target="$rst_target_host:$rst_target_port" ;;
esac
case "$rst_target_host" in
127.* | ::1) rst_target_allow="" ;;
*) rst_target_allow=" $rst_target_host" ;;
esac`;

/** Bash that schedules a command 2 s after this script, so a connection through the tunnel sees the script end. */
const SCHEDULE = String.raw`rst_schedule() {
    systemd-run --quiet --collect --on-active=2 --unit="rst-$(date +%s%N)" "$@" >/dev/null
}`;

/**
 * Script that stores the private key read from stdin (root-only 0600) and restarts a
 * running tunnel so it uses the new key. The key never appears in the script.
 */
export function renderKeyInstallScript(args: Pick<TunnelServiceRenderArgs, "name" | "viaTunnel" | "serviceUser" | "owner" | "adopt">): string {
    validateTunnelName("name", args.name);
    const p = servicePaths(args.name);
    const owned = args.owner !== undefined;
    return renderScript(
        ...(owned ? [OWNERSHIP_FUNCTIONS] : []),
        `rst_dir=${shQuote(p.dir)}
rst_key=${shQuote(p.privateKey)}
rst_unit=${shQuote(p.unitName)}
rst_via_tunnel=${args.viaTunnel === true ? 1 : 0}${
            owned
                ? `\nrst_unit_path=${shQuote(p.unitPath)}\nrst_user=${shQuote(validateUserName("serviceUser", args.serviceUser ?? defaultServiceUser(args.name)))}\n${ownershipVariables({ owner: args.owner!, adopt: args.adopt === true })}`
                : ""
        }`,
        SCHEDULE,
        String.raw`rst_lock services`,
        ...(owned ? [backupOwnershipCheck()] : []),
        String.raw`rst_install_dir /etc/reverse-ssh-tunnel 755 root root
rst_install_dir "$rst_dir" 755 root root
umask 077
rst_install_file "$rst_key" 600 root root
ssh-keygen -y -f "$rst_key" >/dev/null 2>&1 || rst_fail "the tunnel private key delivered on stdin is not a valid unencrypted OpenSSH key"
if [ "$rst_changed" = 1 ] && systemctl is-active --quiet "$rst_unit"; then
    if [ "$rst_via_tunnel" = 1 ]; then
        # This very connection runs through the tunnel: restart once the script has ended.
        rst_schedule /bin/systemctl restart "$rst_unit"
        rst_note "tunnel key replaced; $rst_unit restarts in 2 s (this connection runs through the tunnel)"
    else
        systemctl restart "$rst_unit"
        rst_note "tunnel key replaced; $rst_unit restarted"
    fi
fi`,
    );
}



let fixedLines: { config: Set<string>; unit: Set<string> } | undefined;

/**
 * The lines of the client config and of the unit that are the same for any tunnel (the
 * two sample tunnels share them, as a ReverseTunnel renders them): the install leaves
 * their runs to the backup library (see fileWordSections).
 */
function fixedServiceLines(): { config: Set<string>; unit: Set<string> } {
    if (fixedLines === undefined) {
        const sample = (i: 0 | 1): TunnelServiceRenderArgs => ({ ...sampleServiceArgs(i), backupFacts: sampleTunnel(i).backupFacts });
        const [a, b] = [sample(0), sample(1)];
        fixedLines = { config: commonLines(renderSshClientConfig(a), renderSshClientConfig(b)), unit: commonLines(renderUnit(a), renderUnit(b)) };
    }
    return fixedLines;
}

/**
 * Script that installs the service account, client config, pinned known_hosts and
 * unit, enables the unit, (re)starts it when something changed, and then waits until
 * the tunnel has stayed up for a few seconds (ssh exits at once on an authentication,
 * host-key or forwarding failure, so a healthy process means a working tunnel).
 */
export function renderServiceInstallScript(args: TunnelServiceRenderArgs): string {
    const a = check(args);
    const p = servicePaths(a.name);
    const owned = args.owner !== undefined;
    const facts = args.backupFacts;
    return renderScript(
        ...(owned ? [OWNERSHIP_FUNCTIONS] : []),
        `rst_user=${shQuote(a.serviceUser)}
rst_dir=${shQuote(p.dir)}
rst_unit=${shQuote(p.unitName)}
rst_unit_path=${shQuote(p.unitPath)}
rst_key=${shQuote(p.privateKey)}
rst_gecos=${shQuote(serviceGecos(args.owner))}${owned ? `\n${ownershipVariables({ owner: args.owner!, adopt: args.adopt === true })}` : ""}${
            facts !== undefined ? `\nrst_login=${shQuote(facts.loginUser)}\nrst_sshd_port=${facts.sshPort ?? ""}` : ""
        }`,
        ...(facts !== undefined ? [READ_BACKUP_LOGIN_AND_HOST_KEYS, FIND_BACKUP_SSHD] : []),
        String.raw`rst_lock services`,
        ...(owned ? [backupOwnershipCheck(unitDescription(a.name, a.mainHost, a.forwards.map((f) => f.remotePort).join(",")))] : []),
        String.raw`command -v ssh >/dev/null 2>&1 || rst_fail "the OpenSSH client (ssh) is not installed on this host"
[ -f "$rst_key" ] || rst_fail "the tunnel key $rst_key is missing"
rst_ensure_account "$rst_user" "$rst_gecos" "set another serviceUser"
rst_getent_fields rst_fields passwd "$rst_user"
[ "${"$"}{rst_fields[4]:-}" = "$rst_gecos" ] || { usermod --comment "$rst_gecos" "$rst_user"; rst_changed=1; }
rst_install_dir "$rst_dir" 755 root root`,
        ...(facts === undefined
            ? [heredoc(`rst_install_file "$rst_dir/ssh_config" 644 root root`, renderSshClientConfig(args))]
            : [...fileWordSections("rst_text", renderSshClientConfig(args), fixedServiceLines().config), bash`rst_install_file "$rst_dir/ssh_config" 644 root root <<<"$\{rst_text//${TARGET_TOKEN}/"$rst_target"}"`]),
        heredoc(`rst_install_file "$rst_dir/known_hosts" 644 root root`, renderKnownHosts(args)),
        ...(facts === undefined
            ? [heredoc(`rst_install_file "$rst_unit_path" 644 root root`, renderUnit(args))]
            : [...fileWordSections("rst_text", renderUnit(args), fixedServiceLines().unit), bash`rst_install_file "$rst_unit_path" 644 root root <<<"$\{rst_text//${ALLOW_TOKEN}/"$rst_target_allow"}"`]),
        SCHEDULE,
        bash`rst_via_tunnel=${args.viaTunnel === true ? 1 : 0}
ssh -G -F "$rst_dir/ssh_config" reverse-ssh-tunnel-main >/dev/null || rst_fail "ssh rejected the generated client configuration"
# One daemon-reload (it runs every generator; a backup is often a Raspberry Pi): enable
# without its own reload (it reads the unit file from disk), then reload once.
systemctl is-enabled --quiet "$rst_unit" 2>/dev/null || { systemctl enable --no-reload --quiet "$rst_unit"; rst_changed=1; }
if [ "$rst_changed" = 1 ]; then
    systemctl daemon-reload
fi
# A running unit holds the key it was started with (LoadCredential copies it).
rst_loaded="/run/credentials/$rst_unit/tunnel-key"
if [ -r "$rst_loaded" ] && ! cmp -s -- "$rst_loaded" "$rst_key"; then rst_changed=1; fi
if [ "$rst_changed" = 1 ] || ! systemctl is-active --quiet "$rst_unit"; then
    if [ "$rst_via_tunnel" = 1 ] && systemctl is-active --quiet "$rst_unit"; then
        # This very connection runs through the tunnel: restart once the script has ended.
        rst_schedule /bin/systemctl restart "$rst_unit"
        rst_note "$rst_unit restarts in 2 s (this connection runs through the tunnel); main's finalizer waits for it"
        exit 0
    fi
    systemctl restart "$rst_unit"
fi`,
        args.awaitedByMain === true ? AWAITED_BY_MAIN : STAY_UP_WAIT,
    );
}

/**
 * The install's end when main checks the tunnel: which run of the unit this is. No
 * check here: a first attempt refused by main (its sshd drops logins beyond
 * MaxStartups when many backups connect at once) restarts in 3 s, and main's finalizer
 * waits for the session and its listeners.
 */
const AWAITED_BY_MAIN = bash`rst_note "${TUNNEL_RUN_NOTE} $(systemctl show -P InvocationID "$rst_unit")"`;

/** The install's end when nothing else checks the tunnel: it waits until ssh has stayed up 5 s. */
const STAY_UP_WAIT = bash`# A tunnel counts as up once ssh has run 5 s without a restart. Sleep until that mark
# instead of polling: each look is one systemctl, and a backup is often a Raspberry Pi.
# Microseconds in bash's 64-bit integers (/proc/uptime has two decimals).
rst_up=0
rst_deadline=$((SECONDS + 30))
while :; do
    rst_props=$(systemctl show -p ActiveState -p ActiveEnterTimestampMonotonic "$rst_unit")
    rst_state="" rst_since=0 rst_nap=0.5
    while IFS='=' read -r rst_prop rst_value; do
        case "$rst_prop" in
        ActiveState) rst_state=$rst_value ;;
        ActiveEnterTimestampMonotonic) rst_since=$rst_value ;;
        esac
    done <<<"$rst_props"
    if [ "$rst_state" = active ] && [[ "$rst_since" =~ ^[1-9][0-9]*$ ]]; then
        read -r rst_uptime _ </proc/uptime
        rst_left=$((5000000 - (10#$\{rst_uptime%.*}$\{rst_uptime#*.}0000 - rst_since)))
        if [ "$rst_left" -le 0 ]; then
            rst_up=1
            break
        fi
        printf -v rst_nap '%d.%06d' $((rst_left / 1000000)) $((rst_left % 1000000))
    fi
    [ "$SECONDS" -lt "$rst_deadline" ] || break
    sleep "$rst_nap"
done
if [ "$rst_up" != 1 ]; then
    rst_fail "$rst_unit did not stay up; last log lines:
$(journalctl -u "$rst_unit" -n 15 --no-pager 2>/dev/null || true)"
fi
rst_note "$rst_unit is up"`;

/**
 * Script that stops and disables the unit and removes everything the service and
 * key scripts created (files, directory, account).
 */
export function renderServiceRemoveScript(args: Pick<TunnelServiceRenderArgs, "name" | "serviceUser" | "viaTunnel" | "owner">): string {
    validateTunnelName("name", args.name);
    const user = validateUserName("serviceUser", args.serviceUser ?? defaultServiceUser(args.name));
    const p = servicePaths(args.name);
    if (args.viaTunnel === true) {
        // This connection runs through the tunnel being removed: the removal runs as a
        // transient unit 2 s after this script ends (main's revocation does not depend on it).
        const direct = renderServiceRemoveScript({ ...args, viaTunnel: false });
        return renderScript(
            SCHEDULE,
            bash`rst_detached=$(mktemp "$rst_state_dir/remove.XXXXXX")`,
            heredoc(`cat >"$rst_detached"`, `${direct}rm -f -- "$0"
`),
            bash`rst_schedule /bin/bash "$rst_detached"
rst_note "removal of the tunnel service scheduled in 2 s (this connection runs through the tunnel)"`,
        );
    }
    const owned = args.owner !== undefined;
    return renderScript(
        ...(owned ? [OWNERSHIP_FUNCTIONS] : []),
        `rst_user=${shQuote(user)}
rst_dir=${shQuote(p.dir)}
rst_unit=${shQuote(p.unitName)}
rst_unit_path=${shQuote(p.unitPath)}${owned ? `\n${ownershipVariables({ owner: args.owner! })}` : ""}`,
        String.raw`rst_lock services`,
        // Another owner's (adopted) unit, files and account stay, and so does its tunnel.
        ...(owned
            ? [
                  bash`if rst_held_by_other "the unit $rst_unit on this backup" "$(rst_mark_of "$rst_unit_path")" ||
    rst_held_by_other "the service account $rst_user on this backup" "$(rst_gecos_owner "$rst_user")"; then
    exit 0
fi`,
              ]
            : []),
        String.raw`if [ -f "$rst_unit_path" ]; then
    systemctl disable --no-reload --now --quiet "$rst_unit" 2>/dev/null || systemctl stop "$rst_unit" 2>/dev/null || true
fi
rst_remove "$rst_unit_path" "$rst_dir/ssh_config" "$rst_dir/known_hosts" "$rst_dir/id_tunnel" "$rst_dir"
rst_remove /etc/reverse-ssh-tunnel
systemctl daemon-reload
systemctl reset-failed "$rst_unit" 2>/dev/null || true
rst_delete_account "$rst_user"
if [ "$rst_changed" = 1 ]; then rst_note "tunnel service removed"; fi`,
    );
}
