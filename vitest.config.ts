import { configDefaults, defineConfig } from "vitest/config";

/**
 * Five projects: `unit` (fast, pure rendering and Pulumi mocks), `conformance` (the
 * command provider against upstream 1.2.1's measured behaviour: real engine, a private
 * sshd on 127.0.0.1, as root), `package` (packs the library and installs it into
 * fresh consumer projects; needs npm's registry), `multilang` (the schema through the
 * engine, SDKs for four languages generated, Go, Python and TypeScript consumers compiled;
 * needs the toolchain, python3 and the Go module proxy) and `lab`
 * (real hosts booted by the lab; sequential, long timeouts). `npm test` runs all five.
 */
export default defineConfig({
    test: {
        projects: [
            {
                test: {
                    name: "unit",
                    include: ["test/unit/**/*.test.ts"],
                    testTimeout: 30_000,
                },
            },
            {
                test: {
                    name: "conformance",
                    include: ["test/conformance/**/*.test.ts"],
                    fileParallelism: false,
                    testTimeout: 150_000,
                    hookTimeout: 150_000,
                },
            },
            {
                test: {
                    name: "package",
                    include: ["test/package/**/*.test.ts"],
                    exclude: [...configDefaults.exclude, "test/package/**/*.lab.test.ts"],
                    fileParallelism: false,
                    testTimeout: 300_000,
                    hookTimeout: 600_000,
                },
            },
            {
                test: {
                    name: "multilang",
                    include: ["test/multilang/**/*.test.ts"],
                    fileParallelism: false,
                    testTimeout: 900_000,
                    hookTimeout: 120_000,
                },
            },
            {
                test: {
                    name: "lab",
                    include: ["test/lab/**/*.test.ts", "test/package/**/*.lab.test.ts"],
                    globalSetup: ["test/lab/globalSetup.ts"],
                    fileParallelism: false,
                    testTimeout: 300_000,
                    hookTimeout: 900_000,
                },
            },
        ],
    },
});
