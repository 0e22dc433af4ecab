import { renderAccountApplyScript, renderAccountFinalizeScript, renderAccountRevokeScript } from "../account/render";
import { buildHostLibrary, HostLibrary } from "../shell/hostLibrary";
import { renderSshdApplyScript, renderSshdRemoveScript } from "../sshd/render";
import { renderClientConfigInstallScript, renderClientConfigRemoveScript } from "../tunnel/render";

/** Two unrelated public keys for the samples of a host library (only their text differs). */
export const SAMPLE_KEYS = [
    "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIAEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEB",
    "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIAICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgIC",
] as const;

/**
 * The scripts a tunnel runs on main, rendered for two different made-up backups: what
 * the main library is built from (the sections equal in both are its code).
 */
function mainSamples(i: 0 | 1): string[] {
    const name = ["alpha", "bravo"][i]!;
    const user = `tunnel-${name}`;
    const owner = `org-${i}/project-${i}/stack-${i}/${name}`;
    const ports = [[2201], [2302, 2303]][i]!;
    const account = { user, listenPorts: ports, publicKey: SAMPLE_KEYS[i], owner, description: `backup ${name}` };
    return [
        renderSshdApplyScript({ user, listenPorts: ports, owner, description: `backup ${name}` }),
        renderSshdRemoveScript({ user, owner }),
        renderAccountApplyScript({ ...account, keepPreviousKey: false }),
        renderAccountApplyScript({ ...account, keepPreviousKey: true }),
        renderAccountRevokeScript(account),
        renderAccountFinalizeScript(account),
        renderClientConfigInstallScript({ name, port: ports[0]!, loginUser: ["root", "pi"][i]!, backupHostKeys: [SAMPLE_KEYS[1 - i]!], owner }),
        renderClientConfigRemoveScript(name, owner),
    ];
}

let mainLibrary: HostLibrary | undefined;

/** The script library of main hosts for this version of the package (built once per process). */
export function mainHostLibrary(): HostLibrary {
    return (mainLibrary ??= buildHostLibrary("main", [mainSamples(0), mainSamples(1)]));
}
