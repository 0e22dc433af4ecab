import * as command from "@pulumi/command";
import * as pulumi from "@pulumi/pulumi";
import { HostConnection } from "../connection";
import { remoteScript } from "../connection/remoteScript";
import { renderAccountApplyScript, renderAccountFinalizeScript, renderAccountRevokeScript, renderKeyOptions, TunnelAccountRenderArgs } from "./render";

export * from "./render";

/** Inputs of {@link TunnelAccount}. */
export interface TunnelAccountArgs extends Omit<TunnelAccountRenderArgs, "publicKey" | "additionalPublicKeys" | "keepPreviousKey"> {
    /** How Pulumi reaches main. */
    readonly connection: HostConnection;
    /** The backup's public key (OpenSSH line). */
    readonly publicKey: pulumi.Input<string>;
    /** Keys kept authorized next to it. Default none. */
    readonly additionalPublicKeys?: pulumi.Input<string[]>;
    /**
     * On an update, keep the previous key next to the new one (with the new options
     * and an expiry 30 minutes ahead, ROTATION_OVERLAP_MINUTES), so a backup that
     * has not switched yet keeps working; the owner then runs
     * {@link TunnelAccount.finalizeCommand} once the backup has switched. Never set it
     * for a compromised backup. Default false.
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
    /**
     * The script that leaves exactly the current key(s) authorized and ends live
     * sessions of any other key (ends a rotation's overlap).
     */
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
        const keys = pulumi.all([args.publicKey, args.additionalPublicKeys ?? []]);
        const render = (keepPreviousKey: boolean) =>
            keys.apply(([publicKey, additionalPublicKeys]) => renderAccountApplyScript({ ...plain, publicKey, additionalPublicKeys, keepPreviousKey }));
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
        this.finalizeCommand = keys.apply(([publicKey, additionalPublicKeys]) => renderAccountFinalizeScript({ ...plain, publicKey, additionalPublicKeys }));
        this.registerOutputs({ user: this.user });
    }
}
