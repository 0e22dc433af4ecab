/**
 * SSH key generation with the operator's ssh-keygen: lab keypairs and
 * per-host sshd host keys.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { runOk } from "./proc";

/** A keypair on disk. */
export interface Keypair {
  privateKeyPath: string;
  publicKey: string;
}

/** Generate an ed25519 keypair at `file` (+ `.pub`) unless it exists; the private key is mode 0600. */
export async function ensureKeypair(file: string, comment: string): Promise<Keypair> {
  fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
  if (!fs.existsSync(file) || !fs.existsSync(`${file}.pub`)) {
    fs.rmSync(file, { force: true });
    fs.rmSync(`${file}.pub`, { force: true });
    await runOk("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-C", comment, "-f", file]);
  }
  fs.chmodSync(file, 0o600);
  return { privateKeyPath: file, publicKey: fs.readFileSync(`${file}.pub`, "utf8").trim() };
}

/** Host key types generated for every host. */
export const HOST_KEY_TYPES = ["ed25519", "rsa"] as const;

/** Create missing sshd host keys in `etcSsh` (the host's /etc/ssh); returns the public key lines. */
export async function ensureHostKeys(etcSsh: string, hostname: string): Promise<{ ed25519: string; rsa: string }> {
  const out: Record<string, string> = {};
  for (const type of HOST_KEY_TYPES) {
    const file = path.join(etcSsh, `ssh_host_${type}_key`);
    if (!fs.existsSync(file) || !fs.existsSync(`${file}.pub`)) {
      fs.rmSync(file, { force: true });
      fs.rmSync(`${file}.pub`, { force: true });
      const bits = type === "rsa" ? ["-b", "3072"] : [];
      await runOk("ssh-keygen", ["-q", "-t", type, ...bits, "-N", "", "-C", `root@${hostname}`, "-f", file]);
    }
    fs.chmodSync(file, 0o600);
    out[type] = fs.readFileSync(`${file}.pub`, "utf8").trim();
  }
  return { ed25519: out.ed25519, rsa: out.rsa };
}
