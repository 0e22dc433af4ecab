/**
 * Debian packages the tests use without installing them on this machine: the .deb
 * fetched once with `apt-get download` (Debian's own client and archive) into the
 * shared cache, then either unpacked for one binary (promtool: the `prometheus`
 * package would also install and start a Prometheus server here) or copied into a
 * lab host, which has no package network.
 */
import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { cacheDir } from "../../lab/paths";

/** Root-only cache directory (the cache is shared with the toolchain and lab roots). */
function privateDir(...parts: string[]): string {
    const dir = path.join(cacheDir(), ...parts);
    fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
    return dir;
}

/** Path of `pkg`'s .deb for this machine's release and architecture, downloaded on first use. */
export function debianPackage(pkg: string): string {
    if (!/^[a-z0-9][a-z0-9+.-]+$/.test(pkg)) throw new Error(`not a Debian package name: ${pkg}`);
    const dir = privateDir("debs");
    const find = () => fs.readdirSync(dir).find((f) => f.startsWith(`${pkg}_`) && f.endsWith(".deb"));
    const have = find();
    if (have !== undefined) return path.join(dir, have);
    // In a fresh directory, then moved: a concurrent or interrupted download leaves no partial file.
    const tmp = fs.mkdtempSync(path.join(dir, ".dl-"));
    try {
        execFileSync("apt-get", ["download", "-q", pkg], { cwd: tmp, stdio: ["ignore", "ignore", "pipe"], timeout: 300_000 });
        const got = fs.readdirSync(tmp).find((f) => f.endsWith(".deb"));
        if (got === undefined) throw new Error(`apt-get download ${pkg} left no .deb`);
        fs.renameSync(path.join(tmp, got), path.join(dir, got));
        return path.join(dir, got);
    } catch (e) {
        throw new Error(`cannot download the Debian package ${pkg} (apt-get update first?): ${(e as Error).message}`);
    } finally {
        fs.rmSync(tmp, { recursive: true, force: true });
    }
}

/** Path of `member` (e.g. `usr/bin/promtool`) unpacked from `pkg`'s .deb, without installing the package. */
export function debianBinary(pkg: string, member: string): string {
    const deb = debianPackage(pkg);
    const dir = privateDir("debian-tools", path.basename(deb, ".deb"));
    const bin = path.join(dir, member);
    if (fs.existsSync(bin)) return bin;
    const tmp = fs.mkdtempSync(path.join(dir, ".x-"));
    try {
        execFileSync("dpkg-deb", ["-x", deb, tmp], { stdio: ["ignore", "ignore", "pipe"] });
        fs.mkdirSync(path.dirname(bin), { recursive: true });
        fs.renameSync(path.join(tmp, member), bin);
    } finally {
        fs.rmSync(tmp, { recursive: true, force: true });
    }
    return bin;
}

/** promtool from Debian's `prometheus` package. */
export function promtool(): string {
    return debianBinary("prometheus", "usr/bin/promtool");
}
