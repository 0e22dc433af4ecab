import { renderKeyInstallScript, renderServiceInstallScript, renderServiceRemoveScript } from "../service/render";
import { buildHostLibrary, HostLibrary } from "../shell/hostLibrary";
import { sampleServiceArgs, sampleTunnel } from "./samples";

/**
 * The scripts a tunnel runs on its backup, rendered for two made-up backups, each
 * reached directly and through main (`via: main` schedules restarts instead of
 * awaiting them, so its code differs): what the backup library is built from.
 */
function backupSamples(i: 0 | 1): string[] {
    const t = sampleTunnel(i);
    return [false, true].flatMap((viaTunnel) => {
        const args = { ...sampleServiceArgs(i), viaTunnel };
        // A ReverseTunnel's service reads where the backup's sshd listens itself (backupFacts).
        const facts = { backupFacts: t.backupFacts };
        // With main's finalizer waiting for the tunnel (awaitedByMain), as a ReverseTunnel with both halves has it.
        return [renderKeyInstallScript(args), renderServiceInstallScript(args), renderServiceInstallScript({ ...args, ...facts }), renderServiceInstallScript({ ...args, ...facts, awaitedByMain: true }), renderServiceRemoveScript(args)];
    });
}

let backupLibrary: HostLibrary | undefined;

/**
 * The script library of backup hosts for this version of the package (built once per
 * process). A backup has no shared install command to carry it (each backup is its own
 * host), so it is uploaded as a file (see connection/hostLibraryInstall.ts) and the
 * state records its hash, not its text.
 */
export function backupHostLibrary(): HostLibrary {
    return (backupLibrary ??= buildHostLibrary("backup", [backupSamples(0), backupSamples(1)], "upload"));
}
