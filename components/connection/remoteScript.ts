import * as command from "@pulumi/command";
import * as pulumi from "@pulumi/pulumi";
import { renderPackedBundle } from "../shell";
import { HostConnection, privilegedPhase, toCommandConnection } from "./index";

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
    /**
     * True when stdout is data for the program (host keys, facts), not a message for the
     * operator: only stderr is streamed to the progress display. Default false.
     */
    readonly quiet?: boolean;
    /** Values whose change replaces (delete, then create) instead of updating. */
    readonly triggers?: pulumi.Input<unknown[]>;
}

/**
 * Creates a `remote.Command` with the options every command of this library needs:
 * the scripts travel on stdin and the command strings stay short (`bash -s --
 * create`), because a failed command's error text begins with its whole command
 * string; scripts run as root or through `sudo -n`; an explicit update; no previous
 * output in the environment (it would need AcceptEnv on the host); and
 * delete-before-replace so an install/remove pair never runs the new install before
 * the old removal.
 */
export function remoteScript(name: string, args: RemoteScriptArgs, opts: pulumi.CustomResourceOptions): command.remote.Command {
    const bundle = pulumi
        .all([args.create, args.update ?? args.create, args.delete ?? "exit 0", args.stdin ?? ""])
        .apply(([create, update, del, data]) => renderPackedBundle({ create, update, delete: del }, data));
    // The login user (maybe an Output) decides between bash and sudo. Taken from the
    // args, not the secret connection, so the command strings stay readable in the state.
    const phase = (p: "create" | "update" | "delete") =>
        pulumi.output(args.connection.user).apply((user) => privilegedPhase(user === undefined ? {} : { user }, p));
    return new command.remote.Command(
        name,
        {
            connection: toCommandConnection(args.connectionKey, args.connection),
            create: phase("create"),
            update: phase("update"),
            ...(args.delete !== undefined ? { delete: phase("delete") } : {}),
            stdin: args.stdin !== undefined ? pulumi.secret(bundle) : bundle,
            ...(args.triggers !== undefined ? { triggers: args.triggers } : {}),
            addPreviousOutputInEnv: false,
            logging: args.sensitive ? "none" : args.quiet ? "stderr" : "stdoutAndStderr",
        },
        {
            deleteBeforeReplace: true,
            ...(args.sensitive ? { additionalSecretOutputs: ["stdout", "stderr"] } : {}),
            ...opts,
        },
    );
}
