import * as pulumi from "@pulumi/pulumi";
import { unpackBundle } from "../../components/shell";
import { expandLibraryBundle } from "../../components/shell/hostLibrary";
import { SAMPLE_KEY } from "./fixtures";

/** A resource registration seen by the mock engine. */
export interface Registered {
    type: string;
    name: string;
    inputs: Record<string, any>;
}

/** A fake private key that must never show up anywhere but stdin. */
export const FAKE_PRIVATE_KEY = "-----BEGIN OPENSSH PRIVATE KEY-----\nZmFrZS1rZXktbWF0ZXJpYWwtZm9yLXRlc3Rz\n-----END OPENSSH PRIVATE KEY-----\n";

/** The tunnel unit run (systemd InvocationID) a mocked service install reports. */
export const MOCK_TUNNEL_RUN = "0f1e2d3c4b5a69788796a5b4c3d2e1f0";

/** Unwraps Pulumi's secret envelope as mocks receive it. */
export function unwrap(v: any): any {
    if (v && typeof v === "object" && "4dabf18193072939515e22adb298388d" in v) return unwrap(v.value);
    return v;
}

/**
 * A command's stdin as the host runs it, readable: the packed bundle unpacked, then its
 * data (tests read the scripts; the state holds them packed).
 */
export function stdinText(v: any): string {
    const { bundle, data } = unpackBundle(String(unwrap(v)));
    return expandLibraryBundle(bundle) + data;
}

/** Installs Pulumi mocks that record registrations; returns the record. */
export function installMocks(preview = false): Registered[] {
    const seen: Registered[] = [];
    pulumi.runtime.setMocks(
        {
            newResource(args) {
                seen.push({ type: args.type, name: args.name, inputs: args.inputs });
                const state: Record<string, any> = { ...args.inputs };
                if (args.type === "tls:index/privateKey:PrivateKey") {
                    state.publicKeyOpenssh = `${SAMPLE_KEY}\n`;
                    state.publicKeyFingerprintSha256 = "SHA256:+DiY3wvvV6TuJJhbpZisF/zLDA0zPMSvHdkr4UvCOqU";
                    state.privateKeyOpenssh = FAKE_PRIVATE_KEY;
                }
                if (args.type === "command:remote:Command") {
                    state.stdout = args.name.endsWith("hostkeys")
                        ? `${SAMPLE_KEY}\n`
                        : args.name.endsWith("-service")
                          ? `reverse-ssh-tunnel: host key of this backup: ${SAMPLE_KEY}\nreverse-ssh-tunnel: tunnel unit run: ${MOCK_TUNNEL_RUN}\n`
                          : "";
                    state.stderr = "";
                }
                return { id: `${args.name}-id`, state };
            },
            call: () => ({}),
        },
        "reverse-ssh-tunnel",
        "test",
        preview,
    );
    return seen;
}

/** Resolves an Output (or plain value) in a mock run. */
export function resolve<T>(o: pulumi.Input<T>): Promise<T> {
    return new Promise((r) => pulumi.output(o).apply((v) => r(v as T)));
}

/** Lets pending registrations finish. */
export async function settle(): Promise<void> {
    for (let i = 0; i < 5; i++) await new Promise((r) => setTimeout(r, 20));
}
