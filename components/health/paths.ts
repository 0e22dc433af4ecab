/** Where the health timer's files live on main (no imports: `npm run status` loads this alone). */

/** Where the monitor command is installed on main. */
export const MONITOR_COMMAND_PATH = "/usr/local/sbin/reverse-ssh-tunnel-monitor";
/** The monitor's settings (shell assignments: it holds the alert command), root-only. */
export const MONITOR_SETTINGS_PATH = "/etc/reverse-ssh-tunnel/monitor.conf";
/** One file per stack (or MainHealthCheck) listing the backups it monitors. */
export const MONITOR_ENTRIES_DIR = "/etc/reverse-ssh-tunnel/monitor.d";
/** The monitor's state (systemd's StateDirectory, root-only). */
export const MONITOR_STATE_DIR = "/var/lib/reverse-ssh-tunnel-monitor";
/** The textfile's name in the textfile directory (node_exporter reads `*.prom`). */
export const MONITOR_TEXTFILE_NAME = "reverse_ssh_tunnel.prom";
/** Debian's node_exporter textfile directory (`prometheus-node-exporter`'s default). */
export const DEFAULT_TEXTFILE_DIRECTORY = "/var/lib/prometheus/node-exporter";
