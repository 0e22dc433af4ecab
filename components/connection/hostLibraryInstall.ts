import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import * as command from "@pulumi/command";
import * as pulumi from "@pulumi/pulumi";
import { stackOwner } from "../ownership";
import { HostLibrary, hostLibraryUploadPath, libraryUserId, packLibrary, renderLibraryInstallScript, renderLibraryReleaseScript } from "../shell/hostLibrary";
import { mainIdentity, perRun } from "../tunnel/registry";
import { HostConnection, toCommandConnection } from "./index";

/** A host library's delivery to one host, shared by the commands of a run there. */
export interface HostLibraryInstall {
    /** The library version it delivers. */
    readonly library: HostLibrary;
    /**
     * The resource that delivers it (commands using it depend on it): an install command,
     * or for an uploaded library the `remote.CopyToRemote` of its file.
     */
    readonly resource: pulumi.CustomResource;
}

/** Install commands of a program run (see tunnel/registry.ts), by library role and host identity. */
const newInstalls = () => new Map<string, HostLibraryInstall>();

/** A resource name part from a host identity: letters, digits, dots and dashes only. */
const nameOf = (id: string) => id.replace(/[^A-Za-z0-9.-]+/g, "-").replace(/^-+|-+$/g, "");

/** Who a command is on a host, for the library marks: the stack's owner prefix and the resource name. */
export function libraryUserOf(resourceName: string): string {
    return libraryUserId(`${stackOwner()}${resourceName}`, resourceName);
}

/**
 * The delivery of `library` to the host `connection` reaches (its install command, or
 * the upload of an uploaded library), made on the first request of this run and shared
 * by every later one (one per host and stack, at the stack's root: no tunnel's removal
 * moves it). Undefined when the host is not a plain value yet (an Output): the commands
 * on it then carry their whole scripts.
 *
 * @param connectionKey - setting name of the connection, for error messages.
 * @param install - creates the install command (remoteScript, passed in to keep modules acyclic); not used for an uploaded library.
 */
export function hostLibraryInstall(
    library: () => HostLibrary,
    connection: HostConnection,
    connectionKey: string,
    install: (name: string, create: string, del: string, stdin: string) => command.remote.Command,
): HostLibraryInstall | undefined {
    const id = mainIdentity(connection);
    if (id === undefined) return undefined;
    const registry = perRun(newInstalls);
    const lib = library();
    const found = registry.get(`${lib.role} ${id}`);
    if (found !== undefined) return found;
    const name = `${lib.role}-scripts-${nameOf(id)}`;
    const user = libraryUserOf(name);
    const made: HostLibraryInstall = {
        library: lib,
        resource:
            lib.delivery === "upload"
                ? new command.remote.CopyToRemote(name, {
                      connection: toCommandConnection(connectionKey, connection),
                      source: new pulumi.asset.FileAsset(localLibraryFile(lib)),
                      remotePath: hostLibraryUploadPath(lib.hash),
                  })
                : install(name, renderLibraryInstallScript(lib, user), renderLibraryReleaseScript(user), packLibrary(lib)),
    };
    registry.set(`${lib.role} ${id}`, made);
    return made;
}

/**
 * The library's text as a file on this machine, for its upload: the state records an
 * asset's path and hash, not its text. In the user's cache directory (never a
 * world-writable one), 0700; content-addressed, so stacks and package versions run
 * side by side share or keep their own file; written through a rename, so a reader
 * never sees half a file.
 */
export function localLibraryFile(lib: HostLibrary): string {
    const cache = process.env.XDG_CACHE_HOME !== undefined && path.isAbsolute(process.env.XDG_CACHE_HOME) ? process.env.XDG_CACHE_HOME : path.join(os.homedir(), ".cache");
    // Not the directory uploads land in on a host: where this machine is itself a backup
    // reached as the same user, the upload would overwrite its own source while reading it.
    const dir = path.join(cache, "reverse-ssh-tunnel", "scripts");
    const file = path.join(dir, `lib-${lib.hash}.sh`);
    try {
        if (fs.readFileSync(file, "utf8") === lib.text) return file;
    } catch {
        // Not there yet: written below.
    }
    try {
        fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
        const tmp = `${file}.${process.pid}.tmp`;
        fs.writeFileSync(tmp, lib.text, { mode: 0o600 });
        fs.renameSync(tmp, file);
    } catch (e) {
        throw new Error(`cannot write the ${lib.role} script library to ${file} (uploaded from there to each ${lib.role}): ${(e as Error).message}. Make ${dir} writable, or set XDG_CACHE_HOME to a directory that is`);
    }
    return file;
}
