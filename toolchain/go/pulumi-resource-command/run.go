package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/agent"
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
	logLine     func(stderr bool, line string)
	warn        func(msg string)
}

// capture collects a stream and logs it line by line when asked to.
type capture struct {
	buf    bytes.Buffer
	w      *io.PipeWriter
	done   chan struct{}
	mu     sync.Mutex
	stderr bool
}

func newCapture(spec runSpec, stderr bool) *capture {
	c := &capture{done: make(chan struct{}), stderr: stderr}
	r, w := io.Pipe()
	c.w = w
	log := spec.logging == "stdoutAndStderr" ||
		(spec.logging == "stdout" && !stderr) || (spec.logging == "stderr" && stderr)
	go func() {
		defer close(c.done)
		sc := bufio.NewReader(r)
		for {
			line, err := sc.ReadString('\n')
			if line != "" {
				c.mu.Lock()
				c.buf.WriteString(line)
				c.mu.Unlock()
				if log && spec.logLine != nil {
					spec.logLine(stderr, strings.TrimRight(line, "\r\n"))
				}
			}
			if err != nil {
				_, _ = io.Copy(io.Discard, r)
				return
			}
		}
	}()
	return c
}

func (c *capture) Write(p []byte) (int, error) { return c.w.Write(p) }

func (c *capture) finish() string {
	_ = c.w.Close()
	<-c.done
	c.mu.Lock()
	defer c.mu.Unlock()
	return strings.TrimSuffix(c.buf.String(), "\n")
}

func failure(err error, res *runResult) error {
	var b strings.Builder
	fmt.Fprintf(&b, "command failed: %v", err)
	if res.stdout != "" {
		fmt.Fprintf(&b, "\nstdout:\n%s", res.stdout)
	}
	if res.stderr != "" {
		fmt.Fprintf(&b, "\nstderr:\n%s", res.stderr)
	}
	return errors.New(b.String())
}

func runLocal(ctx context.Context, spec runSpec) (*runResult, error) {
	interp := spec.interpreter
	if len(interp) == 0 {
		interp = []string{"/bin/sh", "-c"}
	}
	args := append(append([]string{}, interp[1:]...), spec.script)
	cmd := exec.CommandContext(ctx, interp[0], args...) //nolint:gosec // running commands is the point
	cmd.Dir = spec.dir
	env := os.Environ()
	for k, v := range spec.env {
		env = append(env, k+"="+v)
	}
	if spec.addPrevEnv && spec.previous != nil {
		env = append(env, "PULUMI_COMMAND_STDOUT="+spec.previous.stdout, "PULUMI_COMMAND_STDERR="+spec.previous.stderr)
	}
	cmd.Env = env
	if spec.stdin != nil {
		cmd.Stdin = strings.NewReader(*spec.stdin)
	}
	out, errc := newCapture(spec, false), newCapture(spec, true)
	cmd.Stdout, cmd.Stderr = out, errc
	err := cmd.Run()
	res := &runResult{stdout: out.finish(), stderr: errc.finish()}
	if err != nil {
		return res, failure(err, res)
	}
	return res, nil
}

// --- SSH ---

type connection struct {
	host               string
	port               int
	user               string
	password           *string
	privateKey         *string
	privateKeyPassword *string
	agentSocketPath    string
	dialErrorLimit     int
	perDialTimeout     time.Duration
	hostKey            string
	proxy              *connection
}

func parseConnection(m resource.PropertyMap) *connection {
	c := &connection{port: 22, user: "root", dialErrorLimit: 10, perDialTimeout: 15 * time.Second}
	c.host, _ = getString(m, "host")
	if n, ok := getNumber(m, "port"); ok && n > 0 {
		c.port = int(n)
	}
	if s, ok := getString(m, "user"); ok && s != "" {
		c.user = s
	}
	if s, ok := getString(m, "password"); ok {
		c.password = &s
	}
	if s, ok := getString(m, "privateKey"); ok {
		c.privateKey = &s
	}
	if s, ok := getString(m, "privateKeyPassword"); ok {
		c.privateKeyPassword = &s
	}
	c.agentSocketPath, _ = getString(m, "agentSocketPath")
	if n, ok := getNumber(m, "dialErrorLimit"); ok && n != 0 {
		c.dialErrorLimit = int(n)
	}
	if n, ok := getNumber(m, "perDialTimeout"); ok && n > 0 {
		c.perDialTimeout = time.Duration(n) * time.Second
	}
	c.hostKey, _ = getString(m, "hostKey")
	if p, ok := getObject(m, "proxy"); ok {
		c.proxy = parseConnection(p)
	}
	return c
}

func (c *connection) addr() string {
	return net.JoinHostPort(c.host, strconv.Itoa(c.port))
}

func (c *connection) config() (*ssh.ClientConfig, error) {
	var auth []ssh.AuthMethod
	if c.privateKey != nil {
		var signer ssh.Signer
		var err error
		if c.privateKeyPassword != nil {
			signer, err = ssh.ParsePrivateKeyWithPassphrase([]byte(*c.privateKey), []byte(*c.privateKeyPassword))
		} else {
			signer, err = ssh.ParsePrivateKey([]byte(*c.privateKey))
		}
		if err != nil {
			return nil, fmt.Errorf("could not parse the connection's private key: %w", err)
		}
		auth = append(auth, ssh.PublicKeys(signer))
	}
	sock := c.agentSocketPath
	if sock == "" && c.privateKey == nil && c.password == nil {
		sock = os.Getenv("SSH_AUTH_SOCK")
	}
	if sock != "" {
		conn, err := net.Dial("unix", sock)
		switch {
		case err == nil:
			auth = append(auth, ssh.PublicKeysCallback(agent.NewClient(conn).Signers))
		case c.agentSocketPath != "":
			return nil, fmt.Errorf("could not connect to the SSH agent at %s: %w", sock, err)
		}
	}
	if c.password != nil {
		pw := *c.password
		auth = append(auth, ssh.Password(pw), ssh.KeyboardInteractive(
			func(_, _ string, questions []string, _ []bool) ([]string, error) {
				answers := make([]string, len(questions))
				for i := range answers {
					answers[i] = pw
				}
				return answers, nil
			}))
	}
	if len(auth) == 0 {
		return nil, errors.New("the connection has no privateKey, password or SSH agent to authenticate with")
	}
	cfg := &ssh.ClientConfig{
		User:            c.user,
		Auth:            auth,
		Timeout:         c.perDialTimeout,
		HostKeyCallback: ssh.InsecureIgnoreHostKey(), //nolint:gosec // upstream behaviour without hostKey
	}
	if c.hostKey != "" {
		pub, _, _, _, err := ssh.ParseAuthorizedKey([]byte(c.hostKey))
		if err != nil {
			return nil, fmt.Errorf("could not parse the connection's hostKey: %w", err)
		}
		cfg.HostKeyCallback = ssh.FixedHostKey(pub)
		if pub.Type() == ssh.KeyAlgoRSA {
			cfg.HostKeyAlgorithms = []string{ssh.KeyAlgoRSASHA512, ssh.KeyAlgoRSASHA256, ssh.KeyAlgoRSA}
		} else {
			cfg.HostKeyAlgorithms = []string{pub.Type()}
		}
	}
	return cfg, nil
}

// dialRetry calls dial until it succeeds, the limit of failed attempts is
// reached (-1: no limit) or ctx ends.
func dialRetry(ctx context.Context, c *connection, what string, dial func() (*ssh.Client, error)) (*ssh.Client, error) {
	var lastErr error
	delay := time.Second
	for attempt := 1; c.dialErrorLimit < 0 || attempt <= c.dialErrorLimit; attempt++ {
		client, err := dial()
		if err == nil {
			return client, nil
		}
		lastErr = err
		if c.dialErrorLimit >= 0 && attempt >= c.dialErrorLimit {
			break
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(delay):
		}
		if delay < 10*time.Second {
			delay = delay * 3 / 2
		}
	}
	return nil, fmt.Errorf("could not connect to %s after %d attempt(s): %w", what, c.dialErrorLimit, lastErr)
}

func (c *connection) dial(ctx context.Context) (*ssh.Client, func(), error) {
	cfg, err := c.config()
	if err != nil {
		return nil, nil, err
	}
	if c.proxy == nil {
		client, err := dialRetry(ctx, c, c.addr(), func() (*ssh.Client, error) {
			return ssh.Dial("tcp", c.addr(), cfg)
		})
		if err != nil {
			return nil, nil, err
		}
		return client, func() { _ = client.Close() }, nil
	}
	proxyClient, closeProxy, err := c.proxy.dial(ctx)
	if err != nil {
		return nil, nil, fmt.Errorf("proxy: %w", err)
	}
	client, err := dialRetry(ctx, c, c.addr()+" via proxy "+c.proxy.addr(), func() (*ssh.Client, error) {
		type result struct {
			client *ssh.Client
			err    error
		}
		ch := make(chan result, 1)
		go func() {
			conn, err := proxyClient.Dial("tcp", c.addr())
			if err != nil {
				ch <- result{nil, err}
				return
			}
			cc, chans, reqs, err := ssh.NewClientConn(conn, c.addr(), cfg)
			if err != nil {
				_ = conn.Close()
				ch <- result{nil, err}
				return
			}
			ch <- result{ssh.NewClient(cc, chans, reqs), nil}
		}()
		select {
		case r := <-ch:
			return r.client, r.err
		case <-time.After(c.perDialTimeout):
			return nil, fmt.Errorf("timed out after %v", c.perDialTimeout)
		}
	})
	if err != nil {
		closeProxy()
		return nil, nil, err
	}
	return client, func() { _ = client.Close(); closeProxy() }, nil
}

func runRemote(ctx context.Context, spec runSpec, c *connection) (*runResult, error) {
	if c.host == "" {
		return nil, errors.New("connection.host is required")
	}
	client, closeAll, err := c.dial(ctx)
	if err != nil {
		return nil, err
	}
	defer closeAll()
	session, err := client.NewSession()
	if err != nil {
		return nil, fmt.Errorf("could not open an SSH session: %w", err)
	}
	defer func() { _ = session.Close() }()

	for k, v := range spec.env {
		if err := session.Setenv(k, v); err != nil {
			return nil, fmt.Errorf("could not set environment variable %q on the remote host "+
				"(the SSH server must list it in AcceptEnv): %w", k, err)
		}
	}
	if spec.addPrevEnv && spec.previous != nil {
		for k, v := range map[string]string{
			"PULUMI_COMMAND_STDOUT": spec.previous.stdout, "PULUMI_COMMAND_STDERR": spec.previous.stderr,
		} {
			if err := session.Setenv(k, v); err != nil && spec.warn != nil {
				spec.warn(fmt.Sprintf("could not set %s on the remote host (not in AcceptEnv)", k))
			}
		}
	}
	if spec.stdin != nil {
		session.Stdin = strings.NewReader(*spec.stdin)
	}
	out, errc := newCapture(spec, false), newCapture(spec, true)
	session.Stdout, session.Stderr = out, errc

	done := make(chan error, 1)
	go func() { done <- session.Run(spec.script) }()
	select {
	case err = <-done:
	case <-ctx.Done():
		_ = session.Signal(ssh.SIGTERM)
		closeAll()
		err = ctx.Err()
	}
	res := &runResult{stdout: out.finish(), stderr: errc.finish()}
	if err != nil {
		return res, failure(err, res)
	}
	return res, nil
}
