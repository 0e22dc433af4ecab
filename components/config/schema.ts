import { z } from "zod";

/**
 * The stack configuration (namespace `reverse-ssh-tunnel`), as a zod schema. Shapes
 * and types are checked here; values (names, hosts, ports, keys) are checked by the
 * components' validators, which name the setting in every error.
 */

/** A host as the operator reaches it. Either `lab` or `host` (+ `hostKey`) is required. */
export const HostConfig = z
    .object({
        /** Name of a host in the lab description (`lab` config key); fills in the rest. */
        lab: z.string().optional(),
        /** Address or DNS name. */
        host: z.string().optional(),
        /** SSH port. Default 22. */
        port: z.number().int().optional(),
        /** Login user. Default root (others need NOPASSWD sudo). */
        user: z.string().optional(),
        /** Path of the admin's private key. Default: secret config `<role>PrivateKey`, else the SSH agent. */
        privateKeyFile: z.string().optional(),
        /** Pinned host public key. */
        hostKey: z.string().optional(),
        /** Opt out of host-key pinning. Default false. */
        insecureSkipHostKeyCheck: z.boolean().optional(),
    })
    .strict();

/** A reverse forward beyond the SSH one. */
export const ForwardConfig = z
    .object({
        remotePort: z.number().int(),
        localPort: z.number().int().optional(),
        localHost: z.string().optional(),
    })
    .strict();

/** One backup box. */
export const BackupConfig = HostConfig.extend({
    /** Backup name (a-z, 0-9, '-'). */
    name: z.string(),
    /** Main's loopback port for the backup's SSH. */
    tunnelPort: z.number().int(),
    /** How Pulumi reaches the backup: `direct` (home network) or `main` (jump through main and the tunnel). Default direct. */
    via: z.enum(["direct", "main"]).optional(),
    extraForwards: z.array(ForwardConfig).optional(),
    tunnelUser: z.string().optional(),
    loginUser: z.string().optional(),
    backupSshPort: z.number().int().optional(),
    serviceUser: z.string().optional(),
    keyAlgorithm: z.enum(["ED25519", "RSA"]).optional(),
    keyRotation: z.string().optional(),
    keyExpiry: z.string().optional(),
    allowedSources: z.array(z.string()).optional(),
    compromised: z.boolean().optional(),
    /** Take over this backup's entries on main and the backup from the stack that owns them (docs/ownership.md). Default false. */
    adopt: z.boolean().optional(),
}).strict();

/** The health timer on main (see MainMonitorArgs); `false` for none. */
export const MonitorConfig = z.union([
    z.literal(false),
    z
        .object({
            intervalSeconds: z.number().int().optional(),
            textfileDirectory: z.string().optional(),
            alertCommand: z.string().optional(),
            alertAfterSeconds: z.number().int().optional(),
            alertIntervalSeconds: z.number().int().optional(),
        })
        .strict(),
]);

/** Main server. */
export const MainConfig = HostConfig.extend({
    /** Health timer: every 30 s by default, Prometheus textfile, optional alert command. */
    monitor: MonitorConfig.optional(),
    /** Address the backups dial. Default: `host`. */
    publicHost: z.string().optional(),
    /** Port the backups dial. Default: `port`. */
    publicPort: z.number().int().optional(),
    /** Where the sshd Match blocks go. Default auto. */
    sshdPlacement: z.enum(["auto", "dropin", "managed-block"]).optional(),
}).strict();

export type HostConfig = z.infer<typeof HostConfig>;
export type BackupConfig = z.infer<typeof BackupConfig>;
export type MainConfig = z.infer<typeof MainConfig>;
