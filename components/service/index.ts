import * as command from "@pulumi/command";
import * as pulumi from "@pulumi/pulumi";
import { HostConnection } from "../connection";
import { remoteScript } from "../connection/remoteScript";
import {
    ForwardSpec,
    PLACEHOLDER_KEY,
    renderKeyInstallScript,
    renderServiceInstallScript,
    renderServiceRemoveScript,
    renderSshClientConfig,
    TunnelServiceRenderArgs,
} from "./render";

export * from "./render";

/** Inputs of {@link TunnelService}. */
export interface TunnelServiceArgs extends Omit<TunnelServiceRenderArgs, "mainHostKeys" | "forwards"> {
    /**
     * Reverse forwards; the first is the SSH port main uses to reach the backup. May
     * come from another resource (e.g. the backup's sshd port read at apply); a
     * plain list is checked at construction, an Output before the first command.
     */
    readonly forwards: pulumi.Input<ForwardSpec[]>;
    /** How Pulumi reaches the backup. */
    readonly connection: HostConnection;
    /** Main's host keys, read from main over the pinned provisioning connection. */
    readonly mainHostKeys: pulumi.Input<string[]>;
    /** The tunnel's private key (secret); delivered on stdin only. */
    readonly privateKey: pulumi.Input<string>;
    /**
     * The backup is considered compromised or gone: its resources are kept out of
     * delete (retainOnDelete), so destroy completes with main-side revocation alone.
     * Set it, run `pulumi up`, then destroy. Default false.
     */
    readonly compromised?: boolean;
}

/**
 * The backup side: a sandboxed systemd service that keeps `ssh -N -R` to main up
 * forever, with its key in a root-only file and main's host key pinned.
 */
export class TunnelService extends pulumi.ComponentResource {
    /** systemd unit name on the backup. */
    readonly unitName: string;
    /** The command that installs and starts the unit. */
    readonly command: command.remote.Command;

    constructor(name: string, args: TunnelServiceArgs, opts?: pulumi.ComponentResourceOptions) {
        super("reverse-ssh-tunnel:index:TunnelService", name, {}, opts);
        const { connection, privateKey, mainHostKeys, compromised, forwards, ...plain } = args;
        const retain = compromised === true ? { retainOnDelete: true } : {};
        // Validate plain settings now (preview), with a syntactically valid placeholder key.
        const known = pulumi.Output.isInstance(forwards) ? [{ remotePort: 1024 }] : (forwards as ForwardSpec[]);
        renderSshClientConfig({ ...plain, forwards: known, mainHostKeys: [PLACEHOLDER_KEY] });
        // Through main and this very tunnel: restarts and the removal are scheduled, not awaited.
        const viaTunnel = connection.proxy !== undefined;
        const remove = renderServiceRemoveScript({ ...plain, viaTunnel });
        const key = remoteScript(
            `${name}-tunnel-key`,
            {
                connection,
                connectionKey: "backup.connection",
                create: renderKeyInstallScript({ ...plain, viaTunnel }),
                // Through the tunnel the service's scheduled removal takes the key too; a
                // second delete could find the tunnel already gone.
                ...(viaTunnel ? {} : { delete: remove }),
                stdin: privateKey,
                sensitive: true,
                triggers: [plain.name],
            },
            { parent: this, ...retain },
        );
        this.command = remoteScript(
            `${name}-service`,
            {
                connection,
                connectionKey: "backup.connection",
                create: pulumi
                    .all([mainHostKeys, forwards])
                    .apply(([keys, fwd]) => renderServiceInstallScript({ ...plain, viaTunnel, forwards: fwd as ForwardSpec[], mainHostKeys: keys })),
                delete: remove,
                triggers: [plain.name],
            },
            { parent: this, dependsOn: [key], ...retain },
        );
        this.unitName = `reverse-ssh-tunnel-${plain.name}.service`;
        this.registerOutputs({ unitName: this.unitName });
    }
}
