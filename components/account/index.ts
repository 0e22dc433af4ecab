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
    /** Keys kept authorized next to it (rotation overlap). Default none. */
    readonly additionalPublicKeys?: pulumi.Input<string[]>;
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
        const create = pulumi
            .all([args.publicKey, args.additionalPublicKeys ?? []])
            .apply(([publicKey, additionalPublicKeys]) =>
                renderAccountApplyScript({ ...plain, publicKey, additionalPublicKeys }),
            );
        this.user = args.user;
        this.command = remoteScript(
            `${name}-account`,
            { connection: args.connection, connectionKey: "main.connection", create, delete: revoke, triggers: [args.user] },
            { parent: this },
        );
        this.registerOutputs({ user: this.user });
    }
}
