package main

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"sync"
)

var validLogging = map[string]bool{"stdout": true, "stderr": true, "stdoutAndStderr": true, "none": true}

type runResult struct {
	stdout, stderr string
}

type runSpec struct {
	script      string
	stdin       *string
	env         map[string]string
	dir         string
	interpreter []string
	logging     string
	addPrevEnv  bool
	previous    *runResult
	// status shows a transient info line (upstream: InfoStatus).
	status func(line string)
	// logError/logWarning write a permanent diagnostic.
	logError   func(msg string)
	logWarning func(msg string)
}

func (s runSpec) logsStdout() bool { return s.logging == "stdout" || s.logging == "stdoutAndStderr" }
func (s runSpec) logsStderr() bool { return s.logging == "stderr" || s.logging == "stdoutAndStderr" }

// lockedBuffer is written by the stdout and stderr copiers at once.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// streams wires a command's output like upstream: stdout and stderr each into
// their own buffer (the outputs), both interleaved into one buffer (for the
// error text, kept whatever `logging` says), and the logged ones line by line
// to the engine as transient info status lines.
type streams struct {
	stdout, stderr bytes.Buffer
	both           lockedBuffer
	logW           *io.PipeWriter
	logged         chan struct{}
	stdoutW        io.Writer
	stderrW        io.Writer
}

func newStreams(spec runSpec) *streams {
	s := &streams{logged: make(chan struct{})}
	r, w := io.Pipe()
	s.logW = w
	outs := []io.Writer{&s.stdout, &s.both}
	if spec.logsStdout() {
		outs = append(outs, w)
	}
	errs := []io.Writer{&s.stderr, &s.both}
	if spec.logsStderr() {
		errs = append(errs, w)
	}
	s.stdoutW, s.stderrW = io.MultiWriter(outs...), io.MultiWriter(errs...)
	go func() {
		defer close(s.logged)
		sc := bufio.NewScanner(r)
		for sc.Scan() {
			if spec.status != nil {
				spec.status(sc.Text())
			}
		}
		// A line longer than the scanner's buffer ends logging; keep draining
		// so that the command does not block on a full pipe.
		_, _ = io.Copy(io.Discard, r)
	}()
	return s
}

// finish waits for the logger; call after the command ended.
func (s *streams) finish() *runResult {
	_ = s.logW.Close()
	<-s.logged
	return &runResult{
		stdout: strings.TrimSuffix(s.stdout.String(), "\n"),
		stderr: strings.TrimSuffix(s.stderr.String(), "\n"),
	}
}

// failure is upstream's error text: the run error, the whole command %q-quoted,
// then stdout and stderr interleaved.
func failure(err error, script string, s *streams) error {
	return fmt.Errorf("%w: running %q:\n%s", err, script, s.both.String())
}

func runLocal(ctx context.Context, spec runSpec) (*runResult, error) {
	interp := spec.interpreter
	if len(interp) == 0 {
		interp = []string{"/bin/sh", "-c"}
	}
	args := append(append([]string{}, interp[1:]...), spec.script)
	cmd := exec.CommandContext(ctx, interp[0], args...) //nolint:gosec // running commands is the point
	cmd.Dir = spec.dir
	if cmd.Dir == "" {
		wd, err := os.Getwd()
		if err != nil {
			return nil, err
		}
		cmd.Dir = wd
	}
	env := os.Environ()
	for k, v := range spec.env {
		env = append(env, k+"="+v)
	}
	if spec.addPrevEnv && spec.previous != nil {
		if spec.previous.stdout != "" {
			env = append(env, "PULUMI_COMMAND_STDOUT="+spec.previous.stdout)
		}
		if spec.previous.stderr != "" {
			env = append(env, "PULUMI_COMMAND_STDERR="+spec.previous.stderr)
		}
	}
	cmd.Env = env
	if spec.stdin != nil && *spec.stdin != "" {
		cmd.Stdin = strings.NewReader(*spec.stdin)
	}
	s := newStreams(spec)
	cmd.Stdout, cmd.Stderr = s.stdoutW, s.stderrW
	err := cmd.Run()
	res := s.finish()
	if err != nil {
		return nil, failure(err, spec.script, s)
	}
	return res, nil
}

// setenvFailure is upstream's message when sshd refuses a variable.
func setenvFailure(key string) string {
	return fmt.Sprintf(`Unable to set '%s'. This only works if your SSH server is configured to accept
	these variables via AcceptEnv. Alternatively, if a Bash-like shell runs the command on the remote host, you could
	prefix the command itself with the variables in the form 'VAR=value command'`, key)
}

func runRemote(ctx context.Context, spec runSpec, c *connection) (*runResult, error) {
	client, err := c.dial(ctx, spec.status)
	if err != nil {
		return nil, err
	}
	// The client stays open (see ssh.go); only the session is closed.
	session, err := client.NewSession()
	if err != nil {
		return nil, err
	}
	defer func() { _ = session.Close() }()

	for k, v := range spec.env {
		if err := session.Setenv(k, v); err != nil {
			if spec.logError != nil {
				spec.logError(setenvFailure(k))
			}
			return nil, fmt.Errorf("could not set environment variable %q: %w", k, err)
		}
	}
	if spec.addPrevEnv && spec.previous != nil {
		for _, kv := range [][2]string{
			{"PULUMI_COMMAND_STDOUT", spec.previous.stdout}, {"PULUMI_COMMAND_STDERR", spec.previous.stderr},
		} {
			if kv[1] == "" {
				continue
			}
			if err := session.Setenv(kv[0], kv[1]); err != nil && spec.logWarning != nil {
				spec.logWarning(setenvFailure(kv[0]))
			}
		}
	}
	if spec.stdin != nil && *spec.stdin != "" {
		session.Stdin = strings.NewReader(*spec.stdin)
	}
	s := newStreams(spec)
	session.Stdout, session.Stderr = s.stdoutW, s.stderrW
	err = session.Run(spec.script)
	res := s.finish()
	if err != nil {
		return nil, failure(err, spec.script, s)
	}
	return res, nil
}
