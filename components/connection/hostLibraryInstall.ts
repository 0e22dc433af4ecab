import * as command from "@pulumi/command";
import { stackOwner } from "../ownership";
import { HostLibrary, libraryUserId, packLibrary, renderLibraryInstallScript, renderLibraryReleaseScript } from "../shell/hostLibrary";
import { mainIdentity, perRun } from "../tunnel/registry";
import { HostConnection } from "./index";

/** A host library's install command on one host, shared by the commands of a run there. */
export interface HostLibraryInstall {
    /** The library version it installs. */
    readonly library: HostLibrary;
    /** The command that installs it (commands using it depend on it). */
    readonly command: command.remote.Command;
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
 * The install command of `library` on the host `connection` reaches, made on the first
 * request of this run and shared by every later one (one per host and stack, at the
 * stack's root: no tunnel's removal moves it). Undefined when the host is not a plain
 * value yet (an Output): the commands on it then carry their whole scripts.
 *
 * @param install - creates the install command (remoteScript, passed in to keep modules acyclic).
 */
export function hostLibraryInstall(
    library: () => HostLibrary,
    connection: HostConnection,
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
    const made: HostLibraryInstall = { library: lib, command: install(name, renderLibraryInstallScript(lib, user), renderLibraryReleaseScript(user), packLibrary(lib)) };
    registry.set(`${lib.role} ${id}`, made);
    return made;
}
