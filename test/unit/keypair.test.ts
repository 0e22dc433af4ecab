/** The SDK floor TunnelKeyPair enforces (the package's peer range starts there). */
import { describe, expect, it } from "vitest";
import { sdkSupportsReplacementTrigger } from "../../components/keypair/sdk";

describe("the @pulumi/pulumi floor", () => {
    it("accepts 3.212.0 and later, refuses older SDKs (they drop replacementTrigger)", () => {
        for (const v of ["3.212.0", "3.259.0", "3.300.1", "4.0.0", "3.212.0-alpha.1"]) expect(sdkSupportsReplacementTrigger(v), v).toBe(true);
        for (const v of ["3.210.0", "3.142.0", "3.2.300", "2.99.0"]) expect(sdkSupportsReplacementTrigger(v), v).toBe(false);
    });
});
