/**
 * A vitest reporter for runs off a terminal (CI logs, `npm test | tee`): one line per
 * finished test with its duration, a line when a file or a hook starts, and a
 * heartbeat naming what is still running whenever nothing was printed for 10 s.
 * Vitest's default reporter prints only per file off a TTY, which left the lab phase
 * silent for up to 92 s at a time. scripts/run-tests.ts adds it when stdout is not a TTY.
 */
import * as path from "node:path";
import type { Reporter, ReportedHookContext, TestCase, TestModule } from "vitest/node";

/** Seconds of silence before a heartbeat line. Default 10 (the budget is 15 s). */
const HEARTBEAT_S = Number(process.env.RST_TEST_HEARTBEAT_S ?? "10");

const root = path.resolve(__dirname, "..");
const rel = (f: string) => path.relative(root, f);
const secs = (ms: number) => `${(ms / 1000).toFixed(1)}s`;

export default class ProgressReporter implements Reporter {
    private readonly start = Date.now();
    private lastPrint = Date.now();
    private timer: NodeJS.Timeout | undefined;
    /** Tests started and not finished, with their start time. */
    private readonly running = new Map<string, { name: string; since: number }>();
    private currentModule: { name: string; since: number } | undefined;
    /** beforeAll/afterAll hooks running (a lab test's setup can take a minute). */
    private readonly hooks = new Map<string, { name: string; since: number }>();
    private counts = { passed: 0, failed: 0, skipped: 0 };

    private print(line: string): void {
        this.lastPrint = Date.now();
        process.stdout.write(`[tests +${Math.round((Date.now() - this.start) / 1000)}s] ${line}\n`);
    }

    onTestRunStart(): void {
        this.timer = setInterval(() => this.heartbeat(), 1000);
        this.timer.unref();
    }

    private heartbeat(): void {
        if (Date.now() - this.lastPrint < HEARTBEAT_S * 1000) return;
        const now = Date.now();
        const tests = [...this.running.values(), ...this.hooks.values()].map((t) => `${t.name} (${secs(now - t.since)})`);
        const what = tests.length > 0 ? tests.join("; ") : this.currentModule ? `${this.currentModule.name} (${secs(now - this.currentModule.since)} in this file)` : "collecting or global setup";
        this.print(`… still running: ${what} — ${this.counts.passed} passed, ${this.counts.failed} failed so far`);
    }

    onTestModuleStart(module: TestModule): void {
        this.currentModule = { name: `${module.project.name} ${rel(module.moduleId)}`, since: Date.now() };
        this.print(`▶ ${this.currentModule.name}`);
    }

    private hookKey(hook: ReportedHookContext): string {
        return `${hook.name} ${hook.entity.id}`;
    }

    onHookStart(hook: ReportedHookContext): void {
        if (hook.name !== "beforeAll" && hook.name !== "afterAll") return;
        const where = hook.entity.type === "module" ? rel(hook.entity.moduleId) : hook.entity.fullName;
        this.hooks.set(this.hookKey(hook), { name: `${hook.name} of ${where}`, since: Date.now() });
    }

    onHookEnd(hook: ReportedHookContext): void {
        this.hooks.delete(this.hookKey(hook));
    }

    onTestCaseReady(test: TestCase): void {
        this.running.set(test.id, { name: test.fullName, since: Date.now() });
    }

    onTestCaseResult(test: TestCase): void {
        this.running.delete(test.id);
        const r = test.result();
        const d = test.diagnostic()?.duration ?? 0;
        const mark = r.state === "passed" ? "✓" : r.state === "failed" ? "✗" : "↓";
        if (r.state === "passed") this.counts.passed++;
        else if (r.state === "failed") this.counts.failed++;
        else this.counts.skipped++;
        this.print(`${mark} ${test.fullName} ${secs(d)}`);
        if (r.state === "failed") for (const e of r.errors ?? []) this.print(`    ${String(e.message).split("\n")[0]}`);
    }

    onTestModuleEnd(module: TestModule): void {
        const d = module.diagnostic().duration;
        this.print(`■ ${module.project.name} ${rel(module.moduleId)} done in ${secs(d)}`);
        this.currentModule = undefined;
    }

    onTestRunEnd(): void {
        if (this.timer) clearInterval(this.timer);
    }
}
