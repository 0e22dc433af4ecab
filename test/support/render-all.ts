import { renderAccountApplyScript, renderAccountFinalizeScript, renderAccountRevokeScript } from "../../components/account";
import { renderHealthCommand, renderHealthInstallScript, renderHealthRemoveScript, renderMonitorCommand, renderMonitorInstallScript, renderMonitorRemoveScript, resolveMonitorSettings } from "../../components/health";
import { type TunnelServiceRenderArgs, renderKeyInstallScript, renderServiceInstallScript, renderServiceRemoveScript, tunnelRunScript } from "../../components/service";
import { renderSshdApplyScript, renderSshdRemoveScript } from "../../components/sshd";
import { renderClientConfigInstallScript, renderClientConfigRemoveScript, renderReadHostKeysScript } from "../../components/tunnel";
import { backupHostLibrary } from "../../components/library/backup";
import { mainHostLibrary } from "../../components/library/main";
import { expandLibraryBundle, renderLibraryBundle, renderLibraryInstallScript, renderLibraryReleaseScript } from "../../components/shell/hostLibrary";
import { joinScripts } from "../../components/shell";
import { SAMPLE_KEY } from "./fixtures";

/** Typical render arguments, shared by the lint and semantic tests. */
export const SERVICE_ARGS: TunnelServiceRenderArgs = {
    name: "pi",
    mainHost: "main.example.org",
    mainPort: 2200,
    tunnelUser: "tunnel-pi",
    mainHostKeys: [SAMPLE_KEY],
    forwards: [{ remotePort: 2222 }, { remotePort: 8443, localPort: 443, localHost: "192.168.1.10" }],
};

/** An owner as ReverseTunnel derives it (organization/project/stack/resource name). */
export const OWNER = "organization/rst-project/dev/pi";

/** Every script the library renders, by name, for bash -n / shellcheck. */
export function allScripts(): Record<string, string> {
    const service = { ...SERVICE_ARGS, owner: OWNER };
    // As a ReverseTunnel's: it reads where the backup's sshd listens and prints its host keys.
    const serviceReading = { ...service, backupFacts: { loginUser: "pi" }, awaitedByMain: true };
    const backupServiceBundle = renderLibraryBundle(backupHostLibrary(), "pi-service.0123456789ab", "urn:pulumi:dev::p::command:remote:CopyToRemote::backup-scripts-x", {
        create: renderServiceInstallScript(serviceReading),
        update: renderServiceInstallScript(serviceReading),
        delete: renderServiceRemoveScript(service),
    })!;
    const finalizeAndClient = joinScripts(
        tunnelRunScript("0123456789abcdef0123456789abcdef"),
        renderAccountFinalizeScript({ user: "tunnel-pi", listenPorts: [2222], publicKey: SAMPLE_KEY, owner: OWNER }),
        renderClientConfigInstallScript({ name: "pi", port: 2222, backupHostKeys: [SAMPLE_KEY], owner: OWNER }),
    );
    return {
        "sshd-apply-auto": renderSshdApplyScript({ user: "tunnel-pi", listenPorts: [2222, 8443] }),
        "sshd-apply-dropin": renderSshdApplyScript({ user: "tunnel-pi", listenPorts: [2222], placement: "dropin" }),
        "sshd-apply-managed": renderSshdApplyScript({ user: "tunnel-pi", listenPorts: [2222], placement: "managed-block" }),
        "sshd-remove": renderSshdRemoveScript({ user: "tunnel-pi" }),
        "account-apply": renderAccountApplyScript({ user: "tunnel-pi", listenPorts: [2222], publicKey: SAMPLE_KEY, expiry: "20301231", allowedSources: ["203.0.113.0/24"] }),
        "account-revoke": renderAccountRevokeScript({ user: "tunnel-pi", listenPorts: [2222, 8443] }),
        "account-finalize": renderAccountFinalizeScript({ user: "tunnel-pi", listenPorts: [2222], publicKey: SAMPLE_KEY }),
        "key-install": renderKeyInstallScript({ name: "pi" }),
        "service-install": renderServiceInstallScript(SERVICE_ARGS),
        "service-remove": renderServiceRemoveScript({ name: "pi" }),
        "client-config-install": renderClientConfigInstallScript({ name: "pi", port: 2222, backupHostKeys: [SAMPLE_KEY] }),
        "client-config-remove": renderClientConfigRemoveScript("pi"),
        "read-host-keys": renderReadHostKeysScript(),
        "account-apply-overlap": renderAccountApplyScript({ user: "tunnel-pi", listenPorts: [2222], publicKey: SAMPLE_KEY, keepPreviousKey: true }),
        // With an owner: the ownership checks and marks (components/ownership).
        "sshd-apply-owned": renderSshdApplyScript({ user: "tunnel-pi", listenPorts: [2222, 8443], owner: OWNER, adopt: true }),
        "sshd-remove-owned": renderSshdRemoveScript({ user: "tunnel-pi", owner: OWNER }),
        "account-apply-owned": renderAccountApplyScript({ user: "tunnel-pi", listenPorts: [2222], publicKey: SAMPLE_KEY, keepPreviousKey: true, owner: OWNER }),
        "account-revoke-owned": renderAccountRevokeScript({ user: "tunnel-pi", listenPorts: [2222], owner: OWNER }),
        "account-finalize-owned": renderAccountFinalizeScript({ user: "tunnel-pi", listenPorts: [2222], publicKey: SAMPLE_KEY, allowedSources: ["203.0.113.0/24"], owner: OWNER }),
        "client-config-install-owned": renderClientConfigInstallScript({ name: "pi", port: 2222, backupHostKeys: [SAMPLE_KEY], owner: OWNER }),
        "client-config-remove-owned": renderClientConfigRemoveScript("pi", OWNER),
        "key-install-owned": renderKeyInstallScript({ name: "pi", owner: OWNER }),
        "service-install-owned": renderServiceInstallScript({ ...SERVICE_ARGS, owner: OWNER, adopt: true }),
        "service-install-reading-facts": renderServiceInstallScript({ ...SERVICE_ARGS, mainHost: "198.51.100.7", owner: OWNER, backupFacts: { loginUser: "pi", sshPort: 2022 } }),
        "service-remove-owned": renderServiceRemoveScript({ name: "pi", owner: OWNER }),
        "health-command": renderHealthCommand(),
        "health-install": renderHealthInstallScript(),
        "health-remove": renderHealthRemoveScript(),
        "monitor-command": renderMonitorCommand(),
        "monitor-install": renderMonitorInstallScript(resolveMonitorSettings({ alertCommand: 'echo "$RST_BACKUP"' }), "org/project/stack/main", [
            { name: "pi", port: 2222, tunnelUser: "tunnel-pi", keyFingerprint: `SHA256:${"A".repeat(43)}`, keyExpiry: "20301231" },
        ]),
        "monitor-remove": renderMonitorRemoveScript(resolveMonitorSettings(), "org/project/stack/main"),
        // The main library (sourced by main's commands), its install and release, and a command calling it.
        "main-library": mainHostLibrary().text,
        "library-install": renderLibraryInstallScript(mainHostLibrary(), "main-scripts-x.0123456789ab"),
        "library-release": renderLibraryReleaseScript("main-scripts-x.0123456789ab"),
        // As it runs: the library's prelude and the code of its calls in place (shellcheck cannot follow the source).
        "library-bundle-account": expandLibraryBundle(renderLibraryBundle(mainHostLibrary(), "pi-account.0123456789ab", "urn:pulumi:dev::p::command:remote:Command::main-scripts-x", {
            create: renderAccountApplyScript({ user: "tunnel-pi", listenPorts: [2222], publicKey: SAMPLE_KEY, owner: OWNER }),
            update: renderAccountApplyScript({ user: "tunnel-pi", listenPorts: [2222], publicKey: SAMPLE_KEY, keepPreviousKey: true, owner: OWNER }),
            delete: renderAccountRevokeScript({ user: "tunnel-pi", listenPorts: [2222], owner: OWNER }),
        })!),
        // A backup command as it runs (its lines that install the uploaded library: host-library.test.ts).
        "library-bundle-backup-service": expandLibraryBundle(backupServiceBundle),
        // main's one command after the backup's service: the key finalizer, then the client config.
        "finalize-and-client-config": finalizeAndClient,
        "library-bundle-finalize-and-client-config": expandLibraryBundle(
            renderLibraryBundle(mainHostLibrary(), "pi-client-config.0123456789ab", "urn:pulumi:dev::p::command:remote:Command::main-scripts-x", {
                create: finalizeAndClient,
                update: finalizeAndClient,
                delete: renderClientConfigRemoveScript("pi", OWNER),
            })!,
        ),
    };
}
