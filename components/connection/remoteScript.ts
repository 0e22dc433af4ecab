import * as command from "@pulumi/command";
import * as pulumi from "@pulumi/pulumi";
import { packBundle, renderBundle } from "../shell";
import { HostLibrary, renderLibraryBundle } from "../shell/hostLibrary";
import { hostLibraryInstall, libraryUserOf } from "./hostLibraryInstall";
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
    /** Public data piped to the script instead (not made secret), e.g. a script library. Default: none. */
    readonly publicData?: pulumi.Input<string>;
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
    /**
     * The script library of this kind of host: when given (and the host is a plain value),
     * the command stores calls into the library, installed once per host and stack,
     * instead of the code. Default: none, the command carries its whole scripts.
     */
    readonly library?: () => HostLibrary;
    /**
     * The host is out of reach when this command's delete would run (a backup reached
     * through the tunnel that an earlier delete removes): no delete at all, and its
     * library mark is released by the command named in that one's `releasesMarksOf`.
     * Default false.
     */
    readonly unreachableOnDelete?: boolean;
    /**
     * Resource names of commands on the same host whose library marks this command's
     * successful delete releases besides its own (see `unreachableOnDelete`). Default none.
     */
    readonly releasesMarksOf?: readonly string[];
    /**
     * Resource names of commands an earlier release made on the same host, which this
     * one replaced and whose delete never reaches the host: its create and update release
     * their library marks, so the library version they held does not stay. Default none.
     */
    readonly retiresMarksOf?: readonly string[];
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
    const install =
        args.library === undefined
            ? undefined
            : hostLibraryInstall(args.library, args.connection, args.connectionKey, (libName, create, del, data) =>
                  remoteScript(libName, { connection: args.connection, connectionKey: args.connectionKey, create, delete: del, publicData: data, quiet: true }, {}),
              );
    const bundle = pulumi
        .all([args.create, args.update ?? args.create, args.delete ?? "exit 0", args.stdin ?? args.publicData ?? "", install?.resource.urn])
        .apply(([create, update, del, data, installer]) => {
            const scripts = { create, update, delete: del };
            const calls = install === undefined ? undefined : renderLibraryBundle(install.library, libraryUserOf(name), installer!, scripts, (args.releasesMarksOf ?? []).map(libraryUserOf), (args.retiresMarksOf ?? []).map(libraryUserOf));
            return packBundle(calls ?? renderBundle(scripts)) + data;
        });
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
            // A command calling the library runs a delete in any case: it releases its mark
            // (unless its host is out of reach by then: another command releases it).
            ...(args.delete !== undefined || (install !== undefined && args.unreachableOnDelete !== true) ? { delete: phase("delete") } : {}),
            stdin: args.stdin !== undefined ? pulumi.secret(bundle) : bundle,
            ...(args.triggers !== undefined ? { triggers: args.triggers } : {}),
            addPreviousOutputInEnv: false,
            logging: args.sensitive ? "none" : args.quiet ? "stderr" : "stdoutAndStderr",
        },
        {
            deleteBeforeReplace: true,
            ...(args.sensitive ? { additionalSecretOutputs: ["stdout", "stderr"] } : {}),
            ...opts,
            // After the library it calls (and on delete, before the library's release).
            ...(install !== undefined ? { dependsOn: [...(opts.dependsOn === undefined ? [] : Array.isArray(opts.dependsOn) ? opts.dependsOn : [opts.dependsOn as pulumi.Input<pulumi.Resource>]), install.resource] } : {}),
        },
    );
}
