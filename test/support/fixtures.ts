import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";

/** Generates a real OpenSSH keypair with ssh-keygen (test fixture). */
export function makeKeyPair(type: "ed25519" | "rsa" = "ed25519", bits?: number): { privateKey: string; publicKey: string } {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "rst-key-"));
    const file = path.join(dir, "id");
    execFileSync("ssh-keygen", ["-q", "-t", type, ...(bits ? ["-b", String(bits)] : []), "-N", "", "-C", "test", "-f", file]);
    const out = { privateKey: fs.readFileSync(file, "utf8"), publicKey: fs.readFileSync(`${file}.pub`, "utf8").trim() };
    fs.rmSync(dir, { recursive: true, force: true });
    return out;
}

/** A fixed valid ed25519 public key line. */
export const SAMPLE_KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl";
