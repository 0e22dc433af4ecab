import { version } from "@pulumi/pulumi/version";

/**
 * The first `@pulumi/pulumi` that sends the `replacementTrigger` resource option to
 * the engine (3.212.0; it is absent from 3.210.0's resource.d.ts and runtime). An
 * older SDK drops the option silently, so changing `rotation` would leave the old key
 * in place: the package's peer range starts here, and TunnelKeyPair refuses older SDKs.
 */
export const MIN_PULUMI_SDK = "3.212.0";

/** True when `v` (x.y.z, pre-release suffix ignored) is at least {@link MIN_PULUMI_SDK}. */
export function sdkSupportsReplacementTrigger(v: string): boolean {
    const parse = (s: string) => s.split(/[-+]/)[0]!.split(".").map((n) => Number(n));
    const [a, b] = [parse(v), parse(MIN_PULUMI_SDK)];
    for (let i = 0; i < 3; i++) {
        if ((a[i] ?? 0) !== b[i]) return (a[i] ?? 0) > b[i]!;
    }
    return true;
}

/** Throws when the running `@pulumi/pulumi` is older than {@link MIN_PULUMI_SDK}. */
export function assertSdkSupportsRotation(): void {
    if (!sdkSupportsReplacementTrigger(version)) {
        throw new Error(
            `reverse-ssh-tunnel needs @pulumi/pulumi >= ${MIN_PULUMI_SDK} (found ${version}): older SDKs drop the replacementTrigger option, so a key rotation would not replace the key. Upgrade @pulumi/pulumi.`,
        );
    }
}
