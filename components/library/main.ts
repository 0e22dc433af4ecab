import { renderAccountApplyScript, renderAccountFinalizeScript, renderAccountRevokeScript } from "../account/render";
import { buildHostLibrary, HostLibrary } from "../shell/hostLibrary";
import { renderSshdApplyScript, renderSshdRemoveScript } from "../sshd/render";
import { renderClientConfigInstallScript, renderClientConfigRemoveScript } from "../tunnel/render";
import { samplePolicyArgs, sampleTunnel } from "./samples";

/**
 * The scripts a tunnel runs on main, rendered for two different made-up backups: what
 * the main library is built from (the sections equal in both are its code).
 */
function mainSamples(i: 0 | 1): string[] {
    const { name, user, owner, ports, mainHostKey, backupHostKey, backupFacts } = sampleTunnel(i);
    const account = { user, listenPorts: ports, publicKey: mainHostKey, owner, description: `backup ${name}` };
    return [
        renderSshdApplyScript(samplePolicyArgs(i)),
        renderSshdRemoveScript({ user, owner }),
        renderAccountApplyScript({ ...account, keepPreviousKey: false }),
        renderAccountApplyScript({ ...account, keepPreviousKey: true }),
        renderAccountRevokeScript(account),
        renderAccountFinalizeScript(account),
        renderClientConfigInstallScript({ name, port: ports[0]!, loginUser: backupFacts.loginUser, backupHostKeys: [backupHostKey], owner }),
        renderClientConfigRemoveScript(name, owner),
    ];
}

let mainLibrary: HostLibrary | undefined;

/** The script library of main hosts for this version of the package (built once per process). */
export function mainHostLibrary(): HostLibrary {
    return (mainLibrary ??= buildHostLibrary("main", [mainSamples(0), mainSamples(1)]));
}
