/** Prints docs/security.md's attack table from .state/reports/attacks-{ours,seed}.json. */
import * as fs from "node:fs";
import * as path from "node:path";

interface R { id: string; what: string; succeeded: boolean; evidence: string }
const dir = path.resolve(__dirname, "../.state/reports");
const load = (n: string): Map<string, R> => new Map((JSON.parse(fs.readFileSync(path.join(dir, n), "utf8")) as R[]).map((r) => [r.id, r]));
const ours = load("attacks-ours.json");
const seed = load("attacks-seed.json");
const cell = (r?: R) => (r === undefined ? "n/a" : r.succeeded ? "**got in**" : "refused");
const lines = ["| attack with the leaked key | seed recipe | reverse-ssh-tunnel |", "|---|---|---|"];
for (const [id, r] of ours) lines.push(`| ${r.what} | ${cell(seed.get(id))} | ${id === "intended-remote-forward" ? "works (intended)" : cell(r)} |`);
const got = [...seed.values()].filter((r) => r.succeeded && r.id !== "intended-remote-forward").length;
const oursGot = [...ours.values()].filter((r) => r.succeeded && r.id !== "intended-remote-forward").length;
lines.push("", `Seed: ${got} of ${seed.size - 1} attacks got in. Ours: ${oursGot} of ${ours.size - 1}.`);
console.log(lines.join("\n"));
