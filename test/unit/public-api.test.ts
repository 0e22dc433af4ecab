/**
 * The package root's exports are its public API, so they are listed here name by
 * name: an export added to the root by accident (a renderer, a parser, a quoting
 * helper) fails this test, and a deliberate one is added to the list with its
 * documentation (docs/package.md, docs/api.md).
 */
import * as path from "node:path";
import ts from "typescript";
import { describe, expect, it } from "vitest";
// Explicitly the index file: `../../components` resolves to the repo-only barrel components.ts while it exists.
import * as root from "../../components/index";

const ENTRY = path.resolve(__dirname, "../../components/index.ts");

/** Runtime values: the components, the enum-like constants their args take, and the documented helpers. */
const VALUES = [
    "ConfigError",
    "MainHealthCheck",
    "ROTATION_OVERLAP_MINUTES",
    "ReverseTunnel",
    "SshdMatchBlock",
    "SshdPlacement",
    "TunnelAccount",
    "TunnelKeyAlgorithm",
    "TunnelKeyPair",
    "TunnelService",
    "defaultServiceUser",
    "defaultTunnelUser",
];

/** Type-only names: the components' args and the types those refer to. */
const TYPES = [
    "ForwardSpec",
    "HostConnection",
    "MainHealthCheckArgs",
    "MainMonitorArgs",
    "MonitoredBackupArgs",
    "ReverseTunnelArgs",
    "SshHop",
    "SshdMatchBlockArgs",
    "TunnelAccountArgs",
    "TunnelHandoff",
    "TunnelKeyPairArgs",
    "TunnelServiceArgs",
];

/** Every name the root exports, values and types, as the compiler sees it (what a consumer's editor offers). */
function declaredExports(): string[] {
    const program = ts.createProgram([ENTRY], { strict: true, esModuleInterop: true, target: ts.ScriptTarget.ES2022, module: ts.ModuleKind.CommonJS, skipLibCheck: true, noEmit: true });
    const checker = program.getTypeChecker();
    const mod = checker.getSymbolAtLocation(program.getSourceFile(ENTRY)!)!;
    return checker.getExportsOfModule(mod).map((s) => s.getName());
}

const sorted = (names: Iterable<string>) => [...new Set(names)].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));

describe("the package root (components/index.ts, dist/index.js in the package)", () => {
    it("exports exactly the listed runtime values", () => {
        expect(sorted(Object.keys(root))).toEqual(sorted(VALUES));
    });

    it("exports exactly the listed names, types included", () => {
        // TunnelKeyAlgorithm and SshdPlacement are a value and a type of the same name.
        expect(sorted(declaredExports())).toEqual(sorted([...VALUES, ...TYPES]));
    }, 60_000);

    it("exports no renderer, parser, validator, script or quoting helper", () => {
        const internal = [...VALUES, ...TYPES].filter((n) => /^(render|parse|validate|resolve|assert|sh[A-Z]|quote|heredoc|bash$|privileged|remoteScript)|Script$|Render/.test(n));
        expect(internal).toEqual([]);
    });

    it("exports every component the API reference documents, each with its args type", () => {
        for (const c of ["ReverseTunnel", "TunnelAccount", "TunnelService", "SshdMatchBlock", "TunnelKeyPair", "MainHealthCheck"]) {
            expect(VALUES).toContain(c);
            expect(TYPES).toContain(`${c}Args`);
        }
    });
});
