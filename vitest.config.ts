import { defineConfig } from "vitest/config";

/**
 * Two projects: `unit` (fast, pure rendering and Pulumi mocks) and `lab` (real hosts
 * booted by the lab; sequential, long timeouts). `npm test` runs both.
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
                    name: "lab",
                    include: ["test/lab/**/*.test.ts"],
                    globalSetup: ["test/lab/globalSetup.ts"],
                    fileParallelism: false,
                    testTimeout: 300_000,
                    hookTimeout: 900_000,
                },
            },
        ],
    },
});
