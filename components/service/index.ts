import * as command from "@pulumi/command";
import * as pulumi from "@pulumi/pulumi";
import { HostConnection } from "../connection";
import { remoteScript } from "../connection/remoteScript";
import {
    PLACEHOLDER_KEY,
    renderKeyInstallScript,
    renderServiceInstallScript,
    renderServiceRemoveScript,
    renderSshClientConfig,
    TunnelServiceRenderArgs,
} from "./render";

export * from "./render";

/** Inputs of {@link TunnelService}. */
export interface TunnelServiceArgs extends Omit<TunnelServiceRenderArgs, "mainHostKeys"> {
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
        const { connection, privateKey, mainHostKeys, compromised, ...plain } = args;
        const retain = compromised === true ? { retainOnDelete: true } : {};
        // Validate plain settings now (preview), with a syntactically valid placeholder key.
        renderSshClientConfig({ ...plain, mainHostKeys: [PLACEHOLDER_KEY] });
        const remove = renderServiceRemoveScript(plain);
        const key = remoteScript(
            `${name}-tunnel-key`,
            {
                connection,
                connectionKey: "backup.connection",
                create: renderKeyInstallScript(plain),
                delete: remove,
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
                create: pulumi.output(mainHostKeys).apply((keys) => renderServiceInstallScript({ ...plain, mainHostKeys: keys })),
                delete: remove,
                triggers: [plain.name],
            },
            { parent: this, dependsOn: [key], ...retain },
        );
        this.unitName = `reverse-ssh-tunnel-${plain.name}.service`;
        this.registerOutputs({ unitName: this.unitName });
    }
}
