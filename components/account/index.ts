import * as command from "@pulumi/command";
import * as pulumi from "@pulumi/pulumi";
import { HostConnection } from "../connection";
import { remoteScript } from "../connection/remoteScript";
import { renderAccountApplyScript, renderAccountRevokeScript, renderKeyOptions, TunnelAccountRenderArgs } from "./render";

export * from "./render";

/** Inputs of {@link TunnelAccount}. */
export interface TunnelAccountArgs extends Omit<TunnelAccountRenderArgs, "publicKey" | "additionalPublicKeys"> {
    /** How Pulumi reaches main. */
    readonly connection: HostConnection;
    /** The backup's public key (OpenSSH line). */
    readonly publicKey: pulumi.Input<string>;
    /** Keys kept authorized next to it. Default none. */
    readonly additionalPublicKeys?: pulumi.Input<string[]>;
    /**
     * On an update, keep the keys already authorized next to the new one, so a backup
     * that has not switched yet keeps working; the owner then runs
     * {@link TunnelAccount.finalizeCommand} once the backup has switched. Default false.
     */
    readonly overlapKeysOnUpdate?: boolean;
}

/**
 * The tunnel-only account on main and its root-owned, restricted authorized key.
 * Deleting it is the revocation: key gone, account expired, live sessions killed
 * (the tunnel drops and its listener closes), account removed.
 */
export class TunnelAccount extends pulumi.ComponentResource {
    /** The account name. */
    readonly user: string;
    /** The remote command that owns the account (dependents wait on it). */
    readonly command: command.remote.Command;
    /** The script that leaves exactly the current key(s) authorized (ends a rotation's overlap). */
    readonly finalizeCommand: pulumi.Output<string>;

    constructor(name: string, args: TunnelAccountArgs, opts?: pulumi.ComponentResourceOptions) {
        super("reverse-ssh-tunnel:index:TunnelAccount", name, {}, opts);
        const plain = {
            user: args.user,
            listenPorts: args.listenPorts,
            ...(args.expiry !== undefined ? { expiry: args.expiry } : {}),
            ...(args.allowedSources !== undefined ? { allowedSources: args.allowedSources } : {}),
            ...(args.description !== undefined ? { description: args.description } : {}),
        };
        // Fail at construction (preview) on bad plain input, before any host is touched.
        const revoke = renderAccountRevokeScript(plain);
        renderKeyOptions({ ...plain, publicKey: "" });
        const render = (keepExistingKeys: boolean) =>
            pulumi
                .all([args.publicKey, args.additionalPublicKeys ?? []])
                .apply(([publicKey, additionalPublicKeys]) => renderAccountApplyScript({ ...plain, publicKey, additionalPublicKeys, keepExistingKeys }));
        this.user = args.user;
        this.command = remoteScript(
            `${name}-account`,
            {
                connection: args.connection,
                connectionKey: "main.connection",
                create: render(false),
                // On update (e.g. a new key) the old key stays until finalizeKeys runs.
                update: render(args.overlapKeysOnUpdate === true),
                delete: revoke,
                triggers: [args.user],
            },
            { parent: this },
        );
        this.finalizeCommand = render(false);
        this.registerOutputs({ user: this.user });
    }
}
