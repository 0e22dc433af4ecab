import * as command from "@pulumi/command";
import * as pulumi from "@pulumi/pulumi";
import { HostConnection, privileged, toCommandConnection } from "./index";

/** A rendered script pair (or triple) for one remote.Command. */
export interface RemoteScriptArgs {
    /** Where the script runs; the name is used in error messages. */
    readonly connection: HostConnection;
    /** Setting name for error messages, e.g. `main.connection`. */
    readonly connectionKey: string;
    /** Script run on create (plain, already validated and quoted). */
    readonly create: pulumi.Input<string>;
    /** Script run when inputs change. Default: the create script (all scripts are idempotent). */
    readonly update?: pulumi.Input<string>;
    /** Script run on delete. Default: none. */
    readonly delete?: pulumi.Input<string>;
    /** Data piped to the script, e.g. a private key. Secret when given. */
    readonly stdin?: pulumi.Input<string>;
    /**
     * True when stdin or output may carry a secret: streaming is switched off and
     * stdout/stderr are stored as secrets. Default false.
     */
    readonly sensitive?: boolean;
    /** Values whose change replaces (delete, then create) instead of updating. */
    readonly triggers?: pulumi.Input<unknown[]>;
}

/**
 * Creates a `remote.Command` with the options every command of this library needs:
 * scripts wrapped for root or `sudo -n`, an explicit update, no previous output in
 * the environment (it would need AcceptEnv on the host), and delete-before-replace so
 * an install/remove pair never runs the new install before the old removal.
 */
export function remoteScript(name: string, args: RemoteScriptArgs, opts: pulumi.CustomResourceOptions): command.remote.Command {
    const connection = toCommandConnection(args.connectionKey, args.connection);
    // The login user (maybe an Output) decides between bash and sudo. Taken from the
    // args, not the secret connection, so the scripts stay readable in the state.
    const wrap = (s: pulumi.Input<string>) =>
        pulumi.all([s, args.connection.user]).apply(([script, user]) => privileged(user === undefined ? {} : { user }, script));
    return new command.remote.Command(
        name,
        {
            connection,
            create: wrap(args.create),
            update: wrap(args.update ?? args.create),
            ...(args.delete !== undefined ? { delete: wrap(args.delete) } : {}),
            ...(args.stdin !== undefined ? { stdin: pulumi.secret(args.stdin) } : {}),
            ...(args.triggers !== undefined ? { triggers: args.triggers } : {}),
            addPreviousOutputInEnv: false,
            logging: args.sensitive ? "none" : "stdoutAndStderr",
        },
        {
            deleteBeforeReplace: true,
            ...(args.sensitive ? { additionalSecretOutputs: ["stdout", "stderr"] } : {}),
            ...opts,
        },
    );
}
