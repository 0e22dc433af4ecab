/**
 * Child program for test/unit/connection.test.ts: builds a MainHealthCheck under mocks
 * whose connection takes `host`, `hostKey` and `privateKey` from Outputs given as JSON
 * in argv[2], and prints what reached the mock engine plus the first error. A bad
 * Output value surfaces as the rejection Pulumi's runtime turns into a failed
 * program; a child process keeps that out of the test runner's own process.
 */
import * as pulumi from "@pulumi/pulumi";
import { MainHealthCheck } from "../../components/health";
import { installMocks, settle } from "./mocks";

const values = JSON.parse(process.argv[2] ?? "{}") as { host: string; hostKey: string; privateKey?: string };
const seen = installMocks();
let error: string | null = null;
process.on("unhandledRejection", (e) => {
    error ??= String(e);
});
new MainHealthCheck("main", {
    connection: {
        host: pulumi.output(values.host),
        hostKey: pulumi.output(values.hostKey),
        ...(values.privateKey !== undefined ? { privateKey: pulumi.secret(values.privateKey) } : {}),
    },
});
void settle().then(() => {
    console.log(JSON.stringify({ error, registered: seen.map((s) => s.type) }));
});
