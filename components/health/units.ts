/** The systemd units of the health timer on main (see ./monitor.ts). */

/** The oneshot service that runs one round of the monitor. */
export const MONITOR_SERVICE = "reverse-ssh-tunnel-monitor.service";
/** The timer that starts it. */
export const MONITOR_TIMER = "reverse-ssh-tunnel-monitor.timer";

/**
 * The service. Root, because it reads which process holds each listener (`ss -p`,
 * /proc of the tunnel accounts) and writes into node_exporter's directory. Lightly
 * sandboxed only: it runs the operator's alert command, which may need mail's setgid
 * helper (no NoNewPrivileges), its spool under /var, or the network.
 */
export function renderMonitorService(): string {
    return `# reverse-ssh-tunnel: one round of the tunnel monitor. Managed by Pulumi.
[Unit]
Description=reverse-ssh-tunnel: check every backup's tunnel, write metrics, alert
After=network.target ssh.service

[Service]
Type=oneshot
ExecStart=/usr/local/sbin/reverse-ssh-tunnel-monitor
StateDirectory=reverse-ssh-tunnel-monitor
StateDirectoryMode=0700
# A round is at most a few checks of 5 s in parallel and alert commands of 60 s.
TimeoutStartSec=300
Nice=5
ProtectSystem=full
ProtectHome=read-only
PrivateTmp=yes
`;
}

/**
 * The timer: a round `intervalSeconds` after the previous one started, and soon
 * after boot. `AccuracySec=1s`: systemd's default (1 min) would stretch a 30 s
 * interval to up to 90 s, and the metric must turn 0 within 45 s of an outage.
 */
export function renderMonitorTimer(intervalSeconds: number): string {
    if (!Number.isInteger(intervalSeconds) || intervalSeconds < 1 || intervalSeconds > 86400) {
        throw new Error(`intervalSeconds must be a whole number of seconds from 1 to 86400, got ${intervalSeconds}`);
    }
    return `# reverse-ssh-tunnel: runs ${MONITOR_SERVICE} every ${intervalSeconds} s. Managed by Pulumi.
[Unit]
Description=reverse-ssh-tunnel: tunnel monitor every ${intervalSeconds} s

[Timer]
OnBootSec=${intervalSeconds}s
OnUnitActiveSec=${intervalSeconds}s
AccuracySec=1s

[Install]
WantedBy=timers.target
`;
}
