import * as c from "../../components";
import { SAMPLE_KEY } from "./fixtures";

/** Typical render arguments, shared by the lint and semantic tests. */
export const SERVICE_ARGS: c.TunnelServiceRenderArgs = {
    name: "pi",
    mainHost: "main.example.org",
    mainPort: 2200,
    tunnelUser: "tunnel-pi",
    mainHostKeys: [SAMPLE_KEY],
    forwards: [{ remotePort: 2222 }, { remotePort: 8443, localPort: 443, localHost: "192.168.1.10" }],
};

/** Every script the library renders, by name, for bash -n / shellcheck. */
export function allScripts(): Record<string, string> {
    return {
        "sshd-apply-auto": c.renderSshdApplyScript({ user: "tunnel-pi", listenPorts: [2222, 8443] }),
        "sshd-apply-dropin": c.renderSshdApplyScript({ user: "tunnel-pi", listenPorts: [2222], placement: "dropin" }),
        "sshd-apply-managed": c.renderSshdApplyScript({ user: "tunnel-pi", listenPorts: [2222], placement: "managed-block" }),
        "sshd-remove": c.renderSshdRemoveScript({ user: "tunnel-pi" }),
        "account-apply": c.renderAccountApplyScript({ user: "tunnel-pi", listenPorts: [2222], publicKey: SAMPLE_KEY, expiry: "20301231", allowedSources: ["203.0.113.0/24"] }),
        "account-revoke": c.renderAccountRevokeScript({ user: "tunnel-pi", listenPorts: [2222, 8443] }),
        "key-install": c.renderKeyInstallScript({ name: "pi" }),
        "service-install": c.renderServiceInstallScript(SERVICE_ARGS),
        "service-remove": c.renderServiceRemoveScript({ name: "pi" }),
        "client-config-install": c.renderClientConfigInstallScript({ name: "pi", port: 2222, backupHostKeys: [SAMPLE_KEY] }),
        "client-config-remove": c.renderClientConfigRemoveScript("pi"),
        "read-host-keys": c.renderReadHostKeysScript(),
        "account-apply-overlap": c.renderAccountApplyScript({ user: "tunnel-pi", listenPorts: [2222], publicKey: SAMPLE_KEY, keepPreviousKey: true }),
        "health-command": c.renderHealthCommand(),
        "health-install": c.renderHealthInstallScript(),
        "health-remove": c.renderHealthRemoveScript(),
    };
}
