import { renderKeyInstallScript, renderServiceInstallScript, renderServiceRemoveScript } from "../service/render";
import { buildHostLibrary, HostLibrary } from "../shell/hostLibrary";
import { SAMPLE_KEYS } from "./main";


/**
 * The scripts a tunnel runs on its backup, rendered for two made-up backups, each
 * reached directly and through main (`via: main` schedules restarts instead of
 * awaiting them, so its code differs): what the backup library is built from.
 */
function backupSamples(i: 0 | 1): string[] {
    const name = ["alpha", "bravo"][i]!;
    const owner = `org-${i}/project-${i}/stack-${i}/${name}`;
    return [false, true].flatMap((viaTunnel) => {
        const args = {
            name,
            mainHost: ["main.example.org", "192.0.2.7"][i]!,
            mainPort: [22, 2222][i]!,
            tunnelUser: `tunnel-${name}`,
            mainHostKeys: [SAMPLE_KEYS[i]!],
            forwards: [[{ remotePort: 2201 }], [{ remotePort: 2302, localPort: 2022 }, { remotePort: 2303, localPort: 80 }]][i]!,
            viaTunnel,
            owner,
        };
        // A ReverseTunnel's service reads where the backup's sshd listens itself (backupFacts).
        const facts = { backupFacts: [{ loginUser: "root" }, { loginUser: "pi", sshPort: 2022 }][i]! };
        return [renderKeyInstallScript(args), renderServiceInstallScript(args), renderServiceInstallScript({ ...args, ...facts }), renderServiceRemoveScript(args)];
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
