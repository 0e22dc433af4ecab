package main

// The inspect guard: why a program error hung `pulumi preview` (issue 21, point 2).
//
// When a Pulumi Node.js program fails (an Output's apply throws, a StackReference
// output is missing, an input rejects), @pulumi/pulumi's `cmd/run` logs the error with
// `util.inspect(err, { colors: true })` (cmd/run/error.js `defaultErrorMessage`, called
// from the uncaught-error handler; SDK 3.212 to 3.276 at least). With colors, Node's
// util.inspect runs `markNodeModules` on every stack frame, and in the Node.js releases
// before nodejs/node PR #64022 (issue #64011; Node 20 is end of life and never got it,
// e.g. 20.20.2) that function never ends on a frame whose `node_modules/<name>` or
// `node_modules/@scope/<name>` is not followed by another path separator: it appends
// to a string until V8 gives up (RangeError after minutes and gigabytes). With
// ts-node's source maps (TypeScript programs), every SDK frame looks exactly like
// that: @pulumi/pulumi's maps name `../output.ts`, so frames read
// `.../node_modules/@pulumi/output.ts:519:31`. So the Node process neither logs the
// error nor exits, the host's Run never returns, and the CLI shows "previewing
// update..." until killed. Nothing in the language host or the engine is involved.
//
// The guard is a preload (`node --require`, through NODE_OPTIONS, which the upstream
// host passes on to the node it starts) that wraps `util.inspect`: when colors are on
// and the value is, or holds within inspect's default depth, an error whose stack has
// such a frame, it inspects without colors (the plain path has no markNodeModules).
// Everything else goes to the original untouched. The SDK is not patched: it keeps
// calling `util.inspect` through the module object, which now holds the wrapper.

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
)

// guardEnv turns the guard off (RST_NODEJS_INSPECT_GUARD=0), e.g. to reproduce the hang.
const guardEnv = "RST_NODEJS_INSPECT_GUARD"

const inspectGuardJS = `"use strict";
// Preloaded by the reverse-ssh-tunnel toolchain's pulumi-language-nodejs shim
// (toolchain/go/pulumi-language-nodejs/inspectguard.go): util.inspect with colors never
// ends on some stack frames in Node.js before nodejs/node#64022 (issue #64011).
(function () {
    const util = require("util");
    if (util.inspect.__rstInspectGuard) return;
    const original = util.inspect;
    const isSep = (c) => c === "/" || c === "\\";
    // True when Node's markNodeModules would loop on this line: a node_modules path
    // segment whose module name (or @scope/name) has no path separator after it.
    function badLine(line) {
        let from = 0;
        for (;;) {
            const i = line.indexOf("node_modules", from);
            if (i === -1) return false;
            from = i + 1;
            const sep = line[i - 1];
            if (!isSep(sep) || !isSep(line[i + 12])) continue;
            const start = i + 13;
            const end = line.indexOf(sep, start);
            if (end === -1) return true;
            if (line[start] === "@" && line.indexOf(sep, end + 1) === -1) return true;
        }
    }
    function badStack(stack) {
        return typeof stack === "string" && stack.indexOf("node_modules") !== -1 && stack.split("\n").some(badLine);
    }
    // Errors in the value, within inspect's default depth (2) plus one; bounded work.
    function holdsBadError(value, depth, seen) {
        if (value === null || (typeof value !== "object" && typeof value !== "function")) return false;
        if (seen.has(value) || seen.size > 500) return false;
        seen.add(value);
        try {
            if (util.types.isNativeError(value) || value instanceof Error) {
                if (badStack(value.stack)) return true;
                if (holdsBadError(value.cause, depth - 1, seen)) return true;
                if (Array.isArray(value.errors) && value.errors.some((e) => holdsBadError(e, depth - 1, seen))) return true;
            }
            if (depth <= 0 || typeof value === "function" || util.types.isProxy(value)) return false;
            const keys = Object.keys(value);
            for (let k = 0; k < keys.length && k < 100; k++) {
                if (holdsBadError(value[keys[k]], depth - 1, seen)) return true;
            }
        } catch (e) {
            // A throwing getter: leave the value to inspect itself.
        }
        return false;
    }
    function inspect(value, opts) {
        const legacy = !(typeof opts === "object" && opts !== null);
        let colors = legacy ? arguments[3] : opts.colors;
        if (colors === undefined) colors = original.defaultOptions.colors;
        if (colors && holdsBadError(value, 3, new Set())) {
            if (!legacy) return original.call(this, value, Object.assign({}, opts, { colors: false }));
            const args = Array.prototype.slice.call(arguments);
            args[3] = false;
            return original.apply(this, args);
        }
        return original.apply(this, arguments);
    }
    const props = Object.getOwnPropertyDescriptors(original);
    delete props.prototype;
    Object.defineProperties(inspect, props);
    Object.defineProperty(inspect, "__rstInspectGuard", { value: true });
    util.inspect = inspect;
    try {
        require("module").syncBuiltinESMExports();
    } catch (e) {
        // Older Node: ESM named imports keep the original.
    }
})();
`

// inspectGuardPath writes the guard once per content into the user's cache directory
// (or the temp directory) and returns its path; "" (with a warning) when it cannot.
func inspectGuardPath() string {
	if os.Getenv(guardEnv) == "0" {
		return ""
	}
	sum := sha256.Sum256([]byte(inspectGuardJS))
	name := "inspect-guard-" + hex.EncodeToString(sum[:8]) + ".js"
	var dirs []string
	if d, err := os.UserCacheDir(); err == nil {
		dirs = append(dirs, filepath.Join(d, "reverse-ssh-tunnel", "pulumi-language-nodejs"))
	}
	dirs = append(dirs, filepath.Join(os.TempDir(), fmt.Sprintf("rst-pulumi-language-nodejs-%d", os.Getuid())))
	var lastErr error
	for _, dir := range dirs {
		p := filepath.Join(dir, name)
		if b, err := os.ReadFile(p); err == nil && string(b) == inspectGuardJS {
			if fi, err := os.Lstat(dir); err == nil && fi.IsDir() && ownedByUs(fi) {
				return p
			}
		}
		if err := writeGuard(dir, p); err != nil {
			lastErr = err
			continue
		}
		return p
	}
	fmt.Fprintf(os.Stderr, "pulumi-language-nodejs (shim): warning: no inspect guard (%v); a program error may hang on this Node.js\n", lastErr)
	return ""
}

func writeGuard(dir, p string) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	fi, err := os.Lstat(dir)
	if err != nil {
		return err
	}
	if !fi.IsDir() || !ownedByUs(fi) {
		return fmt.Errorf("%s is not a directory of this user", dir)
	}
	tmp, err := os.CreateTemp(dir, ".inspect-guard-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.WriteString(inspectGuardJS); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), p)
}

// withInspectGuard returns env with `--require <guard>` added to NODE_OPTIONS (kept
// after the caller's own options), or env unchanged when there is no guard.
func withInspectGuard(env []string, guard string) []string {
	if guard == "" {
		return env
	}
	quoted := `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(guard) + `"`
	out := make([]string, 0, len(env)+1)
	opts := ""
	for _, kv := range env {
		if v, ok := strings.CutPrefix(kv, "NODE_OPTIONS="); ok {
			opts = v
			continue
		}
		out = append(out, kv)
	}
	if strings.Contains(opts, guard) {
		return append(out, "NODE_OPTIONS="+opts)
	}
	if opts != "" {
		opts += " "
	}
	return append(out, "NODE_OPTIONS="+opts+"--require "+quoted)
}

func ownedByUs(fi os.FileInfo) bool {
	st, ok := fi.Sys().(*syscall.Stat_t)
	return ok && int(st.Uid) == os.Getuid()
}
