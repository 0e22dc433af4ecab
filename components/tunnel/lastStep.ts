import * as pulumi from "@pulumi/pulumi";

/** Each tunnel's last step (see `recordLastStep`), by tunnel. */
const lastSteps = new WeakMap<pulumi.Resource, pulumi.Resource>();

/**
 * Records the resource a tunnel builds last, which depends (through the others) on every
 * step that matters on its hosts: waiting for it waits for the whole tunnel, and a
 * destroy deletes it before any of them.
 */
export function recordLastStep(tunnel: pulumi.Resource, step: pulumi.Resource): void {
    lastSteps.set(tunnel, step);
}

/**
 * `dependsOn` with each tunnel given by value replaced by its last step. The SDK records a
 * dependency on a component as one on each of its resources (a dozen URNs per tunnel, in
 * every dependent's state record, rewritten after each step of an up); the last step gives
 * the same order with one. Anything else (other resources, Outputs) stays as it is.
 */
export function narrowDependsOn(deps: pulumi.ResourceOptions["dependsOn"]): pulumi.ResourceOptions["dependsOn"] {
    const narrow = (d: pulumi.Input<pulumi.Resource>) => (pulumi.Resource.isInstance(d) ? (lastSteps.get(d) ?? d) : d);
    if (deps === undefined) return undefined;
    if (Array.isArray(deps)) return deps.map(narrow);
    return pulumi.Resource.isInstance(deps) ? narrow(deps) : deps;
}
