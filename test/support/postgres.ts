/**
 * A private PostgreSQL server for the shared-state tests: Debian's `postgresql`
 * package binaries, a data directory of its own under .state/postgres/NAME
 * (initdb'd fresh each time), listening on 127.0.0.1 only (a free port), its
 * unix socket in a 0700 directory, run as the `postgres` OS user (the server
 * refuses root). Pulumi logs in as a non-superuser role `pulumi` owning database
 * `pulumi` with a random password that travels in PGPASSWORD and on psql's
 * stdin, never in a URL or command line.
 */
import { execFileSync, spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import * as fs from "node:fs";
import * as net from "node:net";
import * as path from "node:path";
import * as zlib from "node:zlib";
import { ROOT } from "./engine";

/** OS user the server runs as (created by Debian's postgresql package). */
const PG_USER = "postgres";

/** A running server. */
export interface PgServer {
    /** Backend URL for `pulumi login` / PULUMI_BACKEND_URL (no password in it). */
    readonly url: string;
    /** Environment the Pulumi CLI needs besides the URL (PGPASSWORD). */
    readonly env: Record<string, string>;
    readonly port: number;
    readonly dataDir: string;
    readonly socketDir: string;
    /** Runs SQL as the superuser over the unix socket (SQL on stdin); returns psql's unaligned output. */
    psql(sql: string, db?: string): string;
    /** Every row of Pulumi's state table, with `data` decoded (base64, gunzipped when compressed). */
    stateRows(): Array<{ key: string; raw: string; decoded: string }>;
    /** Stops the server (fast shutdown); idempotent. */
    stop(): void;
}

/** Directory of the newest installed PostgreSQL server binaries; a clear error if none is installed. */
export function pgBinDir(): string {
    const base = "/usr/lib/postgresql";
    const versions = fs.existsSync(base) ? fs.readdirSync(base).filter((v) => fs.existsSync(path.join(base, v, "bin", "initdb"))) : [];
    if (versions.length === 0) {
        throw new Error("PostgreSQL server binaries not found under /usr/lib/postgresql: install Debian's package (apt-get install -y postgresql)");
    }
    versions.sort((a, b) => Number(b) - Number(a));
    return path.join(base, versions[0]!, "bin");
}

function freePort(): Promise<number> {
    return new Promise((resolve, reject) => {
        const s = net.createServer();
        s.once("error", reject);
        s.listen(0, "127.0.0.1", () => {
            const port = (s.address() as net.AddressInfo).port;
            s.close(() => resolve(port));
        });
    });
}

function pgIds(): { uid: number; gid: number } {
    const line = execFileSync("getent", ["passwd", PG_USER], { encoding: "utf8" }).trim();
    const f = line.split(":");
    return { uid: Number(f[2]), gid: Number(f[3]) };
}

/** Runs a PostgreSQL binary as the postgres OS user; throws with its output on failure. */
function asPg(bin: string, args: string[], input?: string): string {
    const r = spawnSync("runuser", ["-u", PG_USER, "--", bin, ...args], { input, encoding: "utf8", timeout: 120_000, maxBuffer: 512 * 1024 * 1024 });
    if (r.status !== 0) {
        throw new Error(`${path.basename(bin)} ${args.join(" ")} failed (${r.status ?? r.signal ?? r.error?.message}): ${`${r.stderr}${r.stdout}`.slice(0, 2000)}`);
    }
    return r.stdout;
}

/** Decodes one state-table value: {"data": base64} of the blob, gunzipped when it is gzip. */
export function decodeStateData(raw: string): string {
    let b64: string;
    try {
        b64 = (JSON.parse(raw) as { data: string }).data;
    } catch {
        return raw;
    }
    const buf = Buffer.from(b64, "base64");
    return (buf[0] === 0x1f && buf[1] === 0x8b ? zlib.gunzipSync(buf) : buf).toString("utf8");
}

/**
 * initdb and start a fresh server named `name` (a leftover one of that name is
 * stopped and wiped first). Takes about 2 s.
 */
export async function startPostgres(name = "shared-state"): Promise<PgServer> {
    const bin = pgBinDir();
    const { uid, gid } = pgIds();
    const base = path.join(ROOT, ".state", "postgres", name);
    const dataDir = path.join(base, "data");
    const socketDir = path.join(base, "run");
    if (fs.existsSync(path.join(dataDir, "postmaster.pid"))) {
        spawnSync("runuser", ["-u", PG_USER, "--", path.join(bin, "pg_ctl"), "-D", dataDir, "-m", "immediate", "-w", "stop"], { stdio: "ignore" });
    }
    fs.rmSync(base, { recursive: true, force: true });
    // .state/postgres and below: owned by the server's OS user, 0700 (root gets in anyway)
    const top = path.dirname(base);
    fs.mkdirSync(top, { recursive: true, mode: 0o700 });
    fs.chownSync(top, uid, gid);
    fs.chmodSync(top, 0o700);
    for (const d of [base, dataDir, socketDir]) {
        fs.mkdirSync(d, { mode: 0o700 });
        fs.chownSync(d, uid, gid);
        fs.chmodSync(d, 0o700);
    }
    // The superuser is reachable only through the 0700 socket by the postgres OS user;
    // TCP logins need a password (scram).
    asPg(path.join(bin, "initdb"), ["-D", dataDir, "-U", PG_USER, "--auth-local=peer", "--auth-host=scram-sha-256", "-E", "UTF8", "--locale=C.UTF-8"]);
    const port = await freePort();
    fs.appendFileSync(
        path.join(dataDir, "postgresql.conf"),
        [
            "",
            "# reverse-ssh-tunnel tests: loopback only, private socket",
            "listen_addresses = '127.0.0.1'",
            `port = ${port}`,
            `unix_socket_directories = '${socketDir}'`,
            "unix_socket_permissions = 0700",
            "max_connections = 50",
            "",
        ].join("\n"),
    );
    asPg(path.join(bin, "pg_ctl"), ["-D", dataDir, "-l", path.join(base, "server.log"), "-w", "-t", "60", "start"]);
    const psql = (sql: string, db = "postgres") =>
        asPg(path.join(bin, "psql"), ["-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-h", socketDir, "-p", String(port), "-d", db], sql);
    const password = randomBytes(24).toString("base64url");
    psql(`CREATE ROLE pulumi LOGIN PASSWORD '${password}';\nCREATE DATABASE pulumi OWNER pulumi;\n`);
    let stopped = false;
    return {
        url: `postgres://pulumi@127.0.0.1:${port}/pulumi?sslmode=disable`,
        env: { PGPASSWORD: password },
        port,
        dataDir,
        socketDir,
        psql,
        stateRows() {
            const out = psql("SELECT json_build_object('key', key, 'raw', data::text) FROM pulumi_state ORDER BY key;", "pulumi");
            return out
                .split("\n")
                .filter(Boolean)
                .map((l) => {
                    const r = JSON.parse(l) as { key: string; raw: string };
                    return { key: r.key, raw: r.raw, decoded: decodeStateData(r.raw) };
                });
        },
        stop() {
            if (stopped) return;
            stopped = true;
            spawnSync("runuser", ["-u", PG_USER, "--", path.join(bin, "pg_ctl"), "-D", dataDir, "-m", "fast", "-w", "stop"], { stdio: "ignore" });
        },
    };
}
