import * as pulumi from "@pulumi/pulumi";
import { ownerId, stackOwnerPrefix, validateOwner } from "./render";

export * from "./render";

/**
 * The owner of component `resourceName` in the running stack: `ORG/PROJECT/STACK/NAME`
 * (see ./render.ts for why), or `explicit` when given (validated).
 */
export function ownerOf(resourceName: string, explicit?: string): string {
    if (explicit !== undefined) return validateOwner("owner", explicit);
    return ownerId(organization(), pulumi.getProject(), pulumi.getStack(), resourceName);
}

/** What every owner in the running stack starts with: `ORG/PROJECT/STACK/`. */
export function stackOwner(): string {
    return stackOwnerPrefix(organization(), pulumi.getProject(), pulumi.getStack());
}

/** The stack's organization; "organization" (what a self-managed backend reports) when the engine names none (mocks, older CLIs). */
function organization(): string {
    try {
        return pulumi.getOrganization();
    } catch {
        return "organization";
    }
}
