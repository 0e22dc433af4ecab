import * as pulumi from "@pulumi/pulumi";
import { ownerId, validateOwner } from "./render";

export * from "./render";

/**
 * The owner of component `resourceName` in the running stack: `ORG/PROJECT/STACK/NAME`
 * (see ./render.ts for why), or `explicit` when given (validated).
 */
export function ownerOf(resourceName: string, explicit?: string): string {
    if (explicit !== undefined) return validateOwner("owner", explicit);
    return ownerId(organization(), pulumi.getProject(), pulumi.getStack(), resourceName);
}

/** The stack's organization; "organization" (what a self-managed backend reports) when the engine names none (mocks, older CLIs). */
function organization(): string {
    try {
        return pulumi.getOrganization();
    } catch {
        return "organization";
    }
}
