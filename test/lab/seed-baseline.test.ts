/**
 * The same attack matrix against the seed recipe's main-side setup, as published:
 * the baseline the README's security table compares with. The seed's known gaps
 * must reproduce; if they stopped reproducing, the harness would be the suspect.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { LabDescription, loadLab } from "../../lab/client";
import { generateTunnelKey } from "../support/apply";
import { runAttackMatrix } from "../support/attacks";
import { writeReport } from "../support/hosts";
import { applySeedMain, removeSeedMain, SEED_USER } from "../support/seed";

describe.sequential("seed recipe baseline", () => {
    let lab: LabDescription;
    const key = generateTunnelKey("rsa");

    beforeAll(async () => {
        lab = loadLab();
        await applySeedMain(lab, key.publicKey);
    });
    afterAll(async () => {
        await removeSeedMain(lab);
    });

    it("reproduces the seed's documented gaps with the leaked key", async () => {
        const results = await runAttackMatrix({ lab, user: SEED_USER, privateKey: key.privateKey, ownPort: 2224, otherPort: 2222 });
        writeReport("attacks-seed.json", results);
        const ok = new Map(results.map((r) => [r.id, r.succeeded]));
        expect(ok.get("intended-remote-forward")).toBe(true);
        // Documented in shared/reference: any port, Unix-socket listeners, internal-sftp, su with an empty password.
        expect(ok.get("remote-other-port")).toBe(true);
        expect(ok.get("remote-other-backup-port")).toBe(true);
        expect(ok.get("remote-unix-forward")).toBe(true);
        expect(ok.get("sftp-internal")).toBe(true);
        expect(ok.get("su")).toBe(true);
        // What the seed does block.
        expect(ok.get("local-forward")).toBe(false);
        expect(ok.get("dynamic-forward")).toBe(false);
        expect(ok.get("shell")).toBe(false);
    });
});
