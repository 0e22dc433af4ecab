import * as fs from "node:fs";
import * as path from "node:path";

/** KEY=VALUE lines of toolchain/versions.env: the versions the offline toolchain builds and serves. */
export function toolchainVersions(): Record<string, string> {
    return Object.fromEntries(
        fs
            .readFileSync(path.resolve(__dirname, "../../toolchain/versions.env"), "utf8")
            .split("\n")
            .map((l) => /^([A-Z_]+)=(.*)$/.exec(l))
            .filter((m): m is RegExpExecArray => m !== null)
            .map((m) => [m[1]!, m[2]!]),
    );
}
