import { configDefaults, defineConfig } from "vitest/config";

/**
 * Three projects: `unit` (fast, pure rendering and Pulumi mocks), `package` (packs
 * the library and installs it into a fresh consumer project; needs npm's registry)
 * and `lab` (real hosts booted by the lab; sequential, long timeouts). `npm test`
 * runs all three.
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
