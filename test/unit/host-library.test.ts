/**
 * The host script library (components/shell/hostLibrary.ts), run by bash: a command
 * calling it does what its whole script did; versions are installed side by side and
 * each is removed with its last user's mark; a missing library fails with the way to
 * reinstall it. The library's paths are moved into a temporary directory (and its hash
 * recomputed), so the test runs on this machine without touching /usr/local or /run.
 */
import { spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { backupHostLibrary } from "../../components/library/backup";
import { mainHostLibrary } from "../../components/library/main";
import { renderServiceInstallScript } from "../../components/service/render";
import { renderSshdApplyScript } from "../../components/sshd/render";
import { SAMPLE_KEY } from "../support/fixtures";
import { joinScripts, librarySection, renderBundle, renderScript } from "../../components/shell";
import {
    buildHostLibrary,
    HOST_LIBRARY_DIR,
    HOST_LIBRARY_UPLOAD_DIR,
    HostLibrary,
    packLibrary,
    renderLibraryBundle,
    renderLibraryInstallScript,
    renderLibraryReleaseScript,
    unpackLibrary,
} from "../../components/shell/hostLibrary";

const root = fs.mkdtempSync(path.join(os.tmpdir(), "rst-hostlib-"));
const libDir = path.join(root, "lib");
const stateDir = path.join(root, "run");
afterAll(() => fs.rmSync(root, { recursive: true, force: true }));

/** The text with the library's and the state directory's paths moved under `root`. */
const moved = (text: string) => text.replaceAll(HOST_LIBRARY_DIR, libDir).replaceAll("/run/reverse-ssh-tunnel", stateDir);

/** A library as the test installs it: moved paths, hence its own hashes (replaced wherever the originals appear). */
function relocate(lib: HostLibrary, move: (text: string) => string = moved) {
    const text = move(lib.text);
    const sha = createHash("sha256").update(text).digest("hex");
    const hash = sha.slice(0, 16);
    const fix = (s: string) => move(s).replaceAll(lib.sha256, sha).replaceAll(lib.hash, hash);
    return { hash, text, fix, data: packLibrary({ ...lib, text }) };
}

const bash = (phase: string, stdin: string) => spawnSync("bash", ["-s", "--", phase], { input: stdin, encoding: "utf8" });
const files = () =>
    fs.existsSync(libDir)
        ? fs
              .readdirSync(libDir, { recursive: true })
              .map(String)
              .filter((f) => f.startsWith("lib-") || f.split("/").length === 3)
              .sort()
        : [];

// Two versions of a small library: the second has one more section.
const greet = (who: string) => renderScript(`rst_who=${who}`, 'echo "hello $rst_who"', "echo done");
const v1 = buildHostLibrary("test", [[greet("a")], [greet("b")]]);
const v2 = buildHostLibrary("test", [[greet("a"), renderScript("echo extra")], [greet("b"), renderScript("echo extra")]]);
const r1 = relocate(v1);
const r2 = relocate(v2);
const install = (r: typeof r1, lib: HostLibrary, user: string) => bash("create", r.fix(renderBundle({ create: renderLibraryInstallScript(lib, user), update: renderLibraryInstallScript(lib, user) })) + r.data);
const command = (r: typeof r1, lib: HostLibrary, user: string, del = greet("gone")) => r.fix(renderLibraryBundle(lib, user, "urn:test:installer", { create: greet("c"), update: greet("u"), delete: del })!);

describe("host script library", () => {
    it("the library round-trips through its packed form and ends in every section of the samples that is code", () => {
        expect(unpackLibrary(packLibrary(v1))).toBe(v1.text);
        expect([...v1.functions.keys()]).toContain('echo "hello $rst_who"');
        // A section that differs between the samples holds values: the command keeps it.
        expect([...v1.functions.keys()].some((s) => s.includes("rst_who="))).toBe(false);
        expect(v1.hash).not.toBe(v2.hash);
    });

    it("a call runs exactly what the script ran: same output as the whole script", () => {
        expect(install(r1, v1, "installer").status).toBe(0);
        const viaLibrary = bash("create", command(r1, v1, "cmd1"));
        const whole = bash("create", moved(renderBundle({ create: greet("c"), update: greet("c") })));
        expect(viaLibrary.stderr).toBe("");
        expect(viaLibrary.stdout).toBe("hello c\ndone\n");
        expect(viaLibrary.stdout).toBe(whole.stdout);
        expect(viaLibrary.status).toBe(0);
        expect(files()).toEqual([`lib-${r1.hash}.sh`, `users/${r1.hash}/cmd1`, `users/${r1.hash}/installer`]);
    });

    it("a new version is installed beside the old one, which stays while a command still marks it", () => {
        expect(install(r2, v2, "installer").status).toBe(0);
        expect(files()).toEqual([`lib-${r1.hash}.sh`, `lib-${r2.hash}.sh`, `users/${r1.hash}/cmd1`, `users/${r2.hash}/installer`].sort());
        // The command's delete as stored before the upgrade still finds its version.
        const r = bash("update", command(r2, v2, "cmd1"));
        expect(r.status).toBe(0);
        expect(files()).toEqual([`lib-${r2.hash}.sh`, `users/${r2.hash}/cmd1`, `users/${r2.hash}/installer`]);
    });

    it("a command's create and update release the marks of commands it retired (whose own delete never reaches the host)", () => {
        const retiring = r2.fix(renderLibraryBundle(v2, "cmd4", "urn:test:installer", { create: greet("c"), update: greet("u") }, [], ["cmd1"])!);
        expect(bash("create", retiring).status).toBe(0);
        expect(files()).toEqual([`lib-${r2.hash}.sh`, `users/${r2.hash}/cmd4`, `users/${r2.hash}/installer`]);
        expect(() => renderLibraryBundle(v2, "cmd4", "urn:test:installer", { create: greet("c"), update: greet("u") }, [], ["cmd1; rm"])).toThrow(/invalid library user id/);
        // Back to what the next tests start from.
        expect(bash("delete", retiring).status).toBe(0);
        expect(bash("update", command(r2, v2, "cmd1")).status).toBe(0);
        expect(files()).toEqual([`lib-${r2.hash}.sh`, `users/${r2.hash}/cmd1`, `users/${r2.hash}/installer`]);
    });

    it("a failed delete keeps its mark; a successful one releases it; the last release removes everything", () => {
        const failing = command(r2, v2, "cmd1", renderScript("exit 3"));
        expect(bash("delete", failing).status).toBe(3);
        expect(files()).toContain(`users/${r2.hash}/cmd1`);
        expect(bash("delete", command(r2, v2, "cmd1")).status).toBe(0);
        expect(files()).toEqual([`lib-${r2.hash}.sh`, `users/${r2.hash}/installer`]);
        // A command without a delete of its own releases its mark on delete too.
        const releaseOnly = r2.fix(renderLibraryBundle(v2, "cmd2", "urn:test:installer", { create: greet("c"), update: greet("u") })!);
        expect(bash("create", releaseOnly).status).toBe(0);
        expect(files()).toContain(`users/${r2.hash}/cmd2`);
        expect(bash("delete", releaseOnly).status).toBe(0);
        expect(files()).toEqual([`lib-${r2.hash}.sh`, `users/${r2.hash}/installer`]);
        const release = bash("delete", r2.fix(renderBundle({ create: "exit 0", update: "exit 0", delete: renderLibraryReleaseScript("installer") })));
        expect(release.status).toBe(0);
        expect(fs.existsSync(libDir)).toBe(false);
    });

    it("a missing library fails before any change, naming the install to replace", () => {
        const r = bash("create", command(r1, v1, "cmd1"));
        expect(r.status).toBe(2);
        expect(r.stderr).toContain("pulumi up --target-replace 'urn:test:installer'");
        expect(bash("delete", command(r1, v1, "cmd1")).status).toBe(2);
        // A command without a delete of its own (the key finalizer) has nothing to release there.
        const releaseOnly = r1.fix(renderLibraryBundle(v1, "cmd2", "urn:test:installer", { create: greet("c"), update: greet("u") })!);
        expect(bash("delete", releaseOnly).status).toBe(0);
        expect(fs.existsSync(libDir)).toBe(false);
    });

    it("a library whose text does not match its hash is refused", () => {
        const bad = r1.fix(renderBundle({ create: renderLibraryInstallScript(v1, "installer"), update: "exit 0" })) + relocate(v2).data;
        const r = bash("create", bad);
        expect(r.status).not.toBe(0);
        expect(r.stderr).toContain("does not match its hash");
        expect(files()).toEqual([]);
    });

    it("main's library is built from the scripts a tunnel runs on main, and every wrapped section parses as a function body", () => {
        const lib = mainHostLibrary();
        expect(lib.functions.size).toBeGreaterThan(10);
        expect(spawnSync("bash", ["-n"], { input: lib.text }).status).toBe(0);
    });

    it("a tunnel's policy, unit and client config lines that every tunnel has are calls into the libraries, not text in its stdin", () => {
        // Neither sample: another name, ports, owner, main by address.
        const owner = "org/proj/prod/charlie";
        const sshd = renderLibraryBundle(mainHostLibrary(), "x", "urn:test:installer", { create: renderSshdApplyScript({ user: "tunnel-charlie", listenPorts: [4100], owner, description: "backup charlie" }), update: renderSshdApplyScript({ user: "tunnel-charlie", listenPorts: [4100], owner }) })!;
        expect(sshd).toContain("PermitListen 127.0.0.1:4100");
        expect(sshd).toContain("permitlisten 127.0.0.1:4100");
        for (const line of ["AllowStreamLocalForwarding no", "ForceCommand /bin/false", "allowstreamlocalforwarding no", "maxsessions 0"]) expect(sshd).not.toContain(line);
        const service = renderServiceInstallScript({ name: "charlie", mainHost: "203.0.113.9", tunnelUser: "tunnel-charlie", mainHostKeys: [SAMPLE_KEY], forwards: [{ remotePort: 4100 }], owner, backupFacts: { loginUser: "pi" } });
        const bundle = renderLibraryBundle(backupHostLibrary(), "y", "urn:test:upload", { create: service, update: service })!;
        expect(bundle).toContain("HostName 203.0.113.9");
        expect(bundle).toContain("ExecStart=/usr/bin/ssh -N -F /etc/reverse-ssh-tunnel/charlie/ssh_config");
        for (const line of ["StrictHostKeyChecking yes", "ExitOnForwardFailure yes", "ProtectKernelTunables=yes", "SystemCallFilter=@system-service"]) expect(bundle).not.toContain(line);
    });

    it("joined scripts run one after the other in one shell, their definitions once and first", () => {
        const defs = librarySection("rst_hello() { echo \"hello $1\"; }");
        const first = renderScript(defs, "rst_who=a", 'rst_hello "$rst_who"');
        const second = renderScript(defs, "rst_who=b", 'rst_hello "$rst_who"', "echo done");
        const joined = joinScripts(first, second);
        expect(joined.split(defs.trimEnd()).length - 1).toBe(1);
        expect(spawnSync("bash", ["-s"], { input: joined, encoding: "utf8" }).stdout).toBe("hello a\nhello b\ndone\n");
        expect(() => joinScripts(first, "echo not rendered")).toThrow(/not made by renderScript/);
        // Its sections are the library's: a joined script of main calls the library as each part would.
        const lib = buildHostLibrary("test-join", [[first, second], [renderScript(defs, "rst_who=c", 'rst_hello "$rst_who"', "echo done")]]);
        const bundle = renderLibraryBundle(lib, "joined", "urn:test:installer", { create: joined, update: joined })!;
        expect(bundle).not.toContain("rst_hello() {");
    });
});

describe("uploaded host script library (a backup's)", () => {
    // The upload directory is relative to the login user's home (root's, here): moved
    // under the test's directory by climbing out of the home first.
    const upDir = path.join(root, "up");
    const movedUp = (text: string) => moved(text).replaceAll(HOST_LIBRARY_UPLOAD_DIR, `../../../../../../../..${upDir}`);
    const relocateUp = (lib: HostLibrary) => relocate(lib, movedUp);
    const u1 = buildHostLibrary("test-up", [[greet("a")], [greet("b")]], "upload");
    const u2 = buildHostLibrary("test-up", [[greet("a"), renderScript("echo extra")], [greet("b"), renderScript("echo extra")]], "upload");
    const q1 = relocateUp(u1);
    const q2 = relocateUp(u2);
    const upCommand = (q: typeof q1, lib: HostLibrary, user: string) => q.fix(renderLibraryBundle(lib, user, "urn:test:upload", { create: greet("c"), update: greet("u"), delete: greet("gone") })!);
    const upFiles = () => (fs.existsSync(upDir) ? fs.readdirSync(upDir).sort() : []);

    it("a command installs its version from the upload once the upload's SHA-256 matches, then runs as a call", () => {
        fs.mkdirSync(upDir, { recursive: true });
        fs.writeFileSync(path.join(upDir, `lib-${q1.hash}.sh`), q1.text);
        const r = bash("create", upCommand(q1, u1, "cmd1"));
        expect(r.stderr).toBe("");
        expect(r.stdout).toBe("hello c\ndone\n");
        expect(r.status).toBe(0);
        expect(files()).toEqual([`lib-${q1.hash}.sh`, `users/${q1.hash}/cmd1`]);
        expect(fs.readFileSync(path.join(libDir, `lib-${q1.hash}.sh`), "utf8")).toBe(q1.text);
        expect(fs.statSync(path.join(libDir, `lib-${q1.hash}.sh`)).mode & 0o777).toBe(0o644);
        // A second command finds it installed.
        expect(bash("create", upCommand(q1, u1, "cmd2")).status).toBe(0);
        expect(files()).toEqual([`lib-${q1.hash}.sh`, `users/${q1.hash}/cmd1`, `users/${q1.hash}/cmd2`]);
    });

    it("the lines that install the upload pass shellcheck", () => {
        const bundle = upCommand(q1, u1, "cmd1");
        const file = path.join(root, "upload-head.sh");
        fs.writeFileSync(file, `#!/bin/bash\n${bundle.slice(0, bundle.indexOf('case "\${1:-}" in'))}`);
        const r = spawnSync("shellcheck", ["--shell=bash", "--severity=style", file], { encoding: "utf8" });
        expect(r.error, "shellcheck must be installed").toBeUndefined();
        expect(r.stdout).toBe("");
        expect(r.status).toBe(0);
    });

    it("an upload that is not the version the command was made with is refused before any change, naming the upload to replace", () => {
        // Version 2's upload holds version 1's text (a stale or altered file).
        fs.writeFileSync(path.join(upDir, `lib-${q2.hash}.sh`), q1.text);
        const r = bash("update", upCommand(q2, u2, "cmd1"));
        expect(r.status).toBe(2);
        expect(r.stdout).toBe("");
        expect(r.stderr).toContain("is missing or not the version this command was made with");
        expect(r.stderr).toContain("pulumi up --target-replace 'urn:test:upload'");
        expect(files()).toEqual([`lib-${q1.hash}.sh`, `users/${q1.hash}/cmd1`, `users/${q1.hash}/cmd2`]);
        fs.rmSync(path.join(upDir, `lib-${q2.hash}.sh`));
        expect(bash("update", upCommand(q2, u2, "cmd1")).status).toBe(2);
    });

    it("an upgrade installs the new version from its upload; the last release removes the versions, their uploads and the upload directory", () => {
        fs.writeFileSync(path.join(upDir, `lib-${q2.hash}.sh`), q2.text);
        expect(bash("update", upCommand(q2, u2, "cmd1")).status).toBe(0);
        expect(files()).toEqual([`lib-${q1.hash}.sh`, `lib-${q2.hash}.sh`, `users/${q1.hash}/cmd2`, `users/${q2.hash}/cmd1`].sort());
        // Version 1 goes with its last user, and its upload with it.
        expect(bash("delete", upCommand(q1, u1, "cmd2")).status).toBe(0);
        expect(files()).toEqual([`lib-${q2.hash}.sh`, `users/${q2.hash}/cmd1`]);
        expect(upFiles()).toEqual([`lib-${q2.hash}.sh`]);
        // A command whose host is out of reach at its delete (through the tunnel) is released by the one that removes the tunnel.
        expect(bash("create", upCommand(q2, u2, "cmd3")).status).toBe(0);
        expect(files()).toContain(`users/${q2.hash}/cmd3`);
        const releasing = q2.fix(renderLibraryBundle(u2, "cmd1", "urn:test:upload", { create: greet("c"), update: greet("u"), delete: greet("gone") }, ["cmd3"])!);
        const last = bash("delete", releasing);
        expect(last.stdout).toBe("hello gone\ndone\n");
        expect(last.status).toBe(0);
        expect(fs.existsSync(libDir)).toBe(false);
        expect(fs.existsSync(upDir)).toBe(false);
    });
});
