import sshpk from "sshpk";
import { ConfigError } from "./errors";

/** Key types accepted for tunnel keys and pinned host keys. */
const ACCEPTED_TYPES = new Set(["ed25519", "ecdsa", "rsa"]);

/** A public key in OpenSSH form, parsed and normalised. */
export interface ParsedPublicKey {
    /** `<type> <base64>` with no comment, e.g. `ssh-ed25519 AAAA...`. */
    readonly line: string;
    /** sshpk key type: `ed25519`, `ecdsa` or `rsa`. */
    readonly type: string;
    /** `SHA256:...` fingerprint as `ssh-keygen -l` prints it. */
    readonly fingerprint: string;
}

/**
 * Parses an OpenSSH public key line (`authorized_keys` / `.pub` format, comment
 * optional) and returns it without its comment. RSA keys shorter than 2048 bits and
 * DSA keys are refused.
 */
export function parsePublicKey(key: string, value: unknown): ParsedPublicKey {
    if (typeof value !== "string" || value.trim() === "" || /[\r\n]/.test(value.trim())) {
        throw new ConfigError(key, "expected one OpenSSH public key line such as 'ssh-ed25519 AAAA...'");
    }
    let parsed: sshpk.Key;
    try {
        parsed = sshpk.parseKey(value.trim(), "ssh");
    } catch {
        throw new ConfigError(key, `not a valid OpenSSH public key: ${JSON.stringify(value.slice(0, 40))}...`);
    }
    if (!ACCEPTED_TYPES.has(parsed.type) || (parsed.type === "rsa" && parsed.size < 2048)) {
        throw new ConfigError(key, `key type ${parsed.type}/${parsed.size} not accepted: use ed25519, ecdsa or rsa >= 2048 bits`);
    }
    parsed.comment = "";
    const line = parsed.toString("ssh").trim();
    return { line, type: parsed.type, fingerprint: parsed.fingerprint("sha256").toString() };
}

/**
 * Parses an ssh-keyscan / `ssh_host_*_key.pub` listing (one key per line, optional
 * host or comment fields) into normalised key lines. Unknown lines are an error,
 * because a pinned host key must never be guessed.
 */
export function parseHostKeyList(key: string, text: string): ParsedPublicKey[] {
    const keys = text
        .split("\n")
        .map((l) => l.trim())
        .filter((l) => l !== "" && !l.startsWith("#"))
        .map((l) => {
            const fields = l.split(/\s+/);
            const at = fields.findIndex((f) => /^(ssh-|ecdsa-)/.test(f));
            if (at < 0 || fields.length < at + 2) {
                throw new ConfigError(key, `not a host key line: ${JSON.stringify(l.slice(0, 60))}`);
            }
            return parsePublicKey(key, `${fields[at]} ${fields[at + 1]}`);
        });
    if (keys.length === 0) {
        throw new ConfigError(key, "no host keys found");
    }
    return keys;
}

/**
 * Checks that `value` is an unencrypted or encrypted private key in a format ssh
 * accepts. The key itself never appears in the error text.
 */
export function validatePrivateKey(key: string, value: unknown): string {
    if (typeof value !== "string" || !/-----BEGIN [A-Z ]*PRIVATE KEY-----/.test(value)) {
        throw new ConfigError(key, "expected a PEM/OpenSSH private key ('-----BEGIN ... PRIVATE KEY-----'); the value is not shown");
    }
    try {
        sshpk.parsePrivateKey(value, "auto");
    } catch (e) {
        if (!(e instanceof Error && e.name === "KeyEncryptedError")) {
            throw new ConfigError(key, "the private key could not be parsed (the value is not shown)");
        }
    }
    return value.endsWith("\n") ? value : `${value}\n`;
}

/**
 * Parses a pinned host key for a provisioning connection. RSA pins are refused: the
 * command provider (upstream 1.2.1) then offers only `ssh-rsa` (SHA-1) for the host
 * key, which OpenSSH >= 8.8 no longer accepts, so every command would fail with "no
 * common algorithm for host key".
 */
export function parseHostKeyPin(key: string, value: unknown): ParsedPublicKey {
    const parsed = parsePublicKey(key, value);
    if (parsed.type === "rsa") {
        throw new ConfigError(
            key,
            "RSA host-key pins do not work with @pulumi/command (it then offers only ssh-rsa/SHA-1, which OpenSSH >= 8.8 refuses): pin the host's ed25519 (or ECDSA) key instead, e.g. the line of /etc/ssh/ssh_host_ed25519_key.pub on the host, or `ssh-keyscan -t ed25519 HOST` checked against `ssh-keygen -lf /etc/ssh/ssh_host_ed25519_key.pub` run there",
        );
    }
    return parsed;
}

/**
 * The public half and `SHA256:` fingerprint of an unencrypted private key, e.g. a
 * tunnel key handed to the backup half of a tunnel. The key never appears in an error.
 */
export function parsePrivateKeyFingerprint(key: string, value: unknown): { publicKey: string; fingerprint: string } {
    if (typeof value !== "string" || !/-----BEGIN [A-Z ]*PRIVATE KEY-----/.test(value)) {
        throw new ConfigError(key, "expected a PEM/OpenSSH private key ('-----BEGIN ... PRIVATE KEY-----'); the value is not shown");
    }
    let pub: sshpk.Key;
    try {
        pub = sshpk.parsePrivateKey(value, "auto").toPublic();
    } catch {
        throw new ConfigError(key, "not an unencrypted private key ssh can use (the value is not shown)");
    }
    pub.comment = "";
    return { publicKey: pub.toString("ssh").trim(), fingerprint: pub.fingerprint("sha256").toString() };
}
