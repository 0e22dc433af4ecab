/**
 * A pid lock file serialising lab-changing operations (up, down, reboot)
 * between processes; a lock left by a dead process is taken over.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { lockPath } from "./paths";
import { sleep } from "./proc";
import { pidAlive, readPidFile } from "./procfs";

let depth = 0;

/** Run `fn` while holding the lab lock (waits up to `waitMs` for another holder). Re-entrant. */
export async function withLabLock<T>(fn: () => Promise<T>, waitMs = 10 * 60_000): Promise<T> {
  if (depth > 0) return fn();
  const file = lockPath();
  fs.mkdirSync(path.dirname(file), { recursive: true });
  const deadline = Date.now() + waitMs;
  for (;;) {
    try {
      fs.writeFileSync(file, `${process.pid}\n`, { flag: "wx" });
      break;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== "EEXIST") throw e;
      const holder = readPidFile(file);
      const fresh = holder === null && Date.now() - (fs.statSync(file, { throwIfNoEntry: false })?.mtimeMs ?? 0) < 2000;
      if (!fresh && (holder === null || !pidAlive(holder))) {
        fs.rmSync(file, { force: true });
        continue;
      }
      if (Date.now() > deadline) throw new Error(`lab is locked by pid ${holder ?? "?"} (${file})`);
      await sleep(250);
    }
  }
  depth++;
  try {
    return await fn();
  } finally {
    depth--;
    if (readPidFile(file) === process.pid) fs.rmSync(file, { force: true });
  }
}
