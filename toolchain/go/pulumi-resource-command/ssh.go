package main

// SSH side of command:remote:Command. Every behaviour here follows what
// upstream pulumi-command 1.2.1 was measured to do (see toolchain/README.md and
// test/conformance/), because users run upstream's provider and the lab must see
// what they see, including the parts that are unfortunate:
//
//   - dialErrorLimit N (default 10) means N+1 attempts, with pulumi's retry
//     backoff (0.1 s x1.5, at most 5 s): about 11-13 s against a closed port;
//     0 means one attempt, -1 no limit. Authentication and handshake failures are
//     retried like connection failures.
//   - perDialTimeout (default 15 s) bounds only the TCP connect (0: no limit);
//     the handshake has no limit, and the hop through a proxy has none either.
//   - Through a proxy, a failed handshake is retried on the connection the failed
//     handshake already closed.
//   - The SSH agent of SSH_AUTH_SOCK is offered whenever that is set (after a
//     key or password); a socket that cannot be reached fails the command.
//   - A hostKey pin offers only the pin's own key type: for RSA that is ssh-rsa
//     (SHA-1), which OpenSSH >= 8.8 no longer accepts.
//   - Connections are never closed while the plugin runs (one per command).

import (
	"context"
	"fmt"
	"net"
	"os"
	"strconv"
	"sync"
	"time"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
	"github.com/pulumi/pulumi/sdk/v3/go/common/util/retry"
	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/agent"
)

const (
	defaultDialErrorLimit = 10
	unlimitedDialErrors   = -1
	defaultPerDialTimeout = 15 // seconds
)

// connection is the `connection` input (and its `proxy`), with upstream's defaults.
type connection struct {
	host               string
	port               int
	user               string
	password           *string
	privateKey         *string
	privateKeyPassword *string
	agentSocketPath    *string
	dialErrorLimit     int // attempts = limit+1; -1: unlimited
	perDialTimeout     int // seconds for the TCP connect; 0: no limit
	hostKey            *string
	proxy              *connection
}

func optString(m resource.PropertyMap, key string) *string {
	if s, ok := getString(m, key); ok {
		return &s
	}
	return nil
}

func parseConnection(m resource.PropertyMap) *connection {
	c := &connection{
		port: 22, user: "root",
		dialErrorLimit: defaultDialErrorLimit, perDialTimeout: defaultPerDialTimeout,
	}
	c.host, _ = getString(m, "host")
	if n, ok := getNumber(m, "port"); ok {
		c.port = int(n)
	}
	if s, ok := getString(m, "user"); ok {
		c.user = s
	}
	c.password = optString(m, "password")
	c.privateKey = optString(m, "privateKey")
	c.privateKeyPassword = optString(m, "privateKeyPassword")
	c.agentSocketPath = optString(m, "agentSocketPath")
	c.hostKey = optString(m, "hostKey")
	// Explicit values count, 0 included (upstream: 0 = a single attempt / no timeout).
	if n, ok := getNumber(m, "dialErrorLimit"); ok {
		c.dialErrorLimit = int(n)
	}
	if n, ok := getNumber(m, "perDialTimeout"); ok {
		c.perDialTimeout = int(n)
	}
	if p, ok := getObject(m, "proxy"); ok {
		c.proxy = parseConnection(p)
	}
	return c
}

func (c *connection) addr() string {
	return net.JoinHostPort(c.host, strconv.Itoa(c.port))
}

// config builds the client configuration. Auth methods in upstream's order: key,
// password (+ keyboard-interactive), agent. An agent socket that cannot be
// reached is an error here, before any dial (so it is not retried).
func (c *connection) config() (*ssh.ClientConfig, error) {
	cfg := &ssh.ClientConfig{
		User:            c.user,
		HostKeyCallback: ssh.InsecureIgnoreHostKey(), //nolint:gosec // upstream: no verification without hostKey
		Timeout:         time.Duration(c.perDialTimeout) * time.Second,
	}
	if c.hostKey != nil {
		pub, _, _, _, err := ssh.ParseAuthorizedKey([]byte(*c.hostKey))
		if err != nil {
			return nil, fmt.Errorf("failed to parse host key: %w", err)
		}
		cfg.HostKeyCallback = ssh.FixedHostKey(pub)
		// Only the pin's own type: "ssh-rsa" for RSA, like upstream.
		cfg.HostKeyAlgorithms = []string{pub.Type()}
	}
	if c.privateKey != nil {
		var signer ssh.Signer
		var err error
		if c.privateKeyPassword != nil {
			signer, err = ssh.ParsePrivateKeyWithPassphrase([]byte(*c.privateKey), []byte(*c.privateKeyPassword))
		} else {
			signer, err = ssh.ParsePrivateKey([]byte(*c.privateKey))
		}
		if err != nil {
			return nil, err
		}
		cfg.Auth = append(cfg.Auth, ssh.PublicKeys(signer))
	}
	if c.password != nil {
		pw := *c.password
		cfg.Auth = append(cfg.Auth, ssh.Password(pw), ssh.KeyboardInteractive(
			func(_, _ string, questions []string, _ []bool) ([]string, error) {
				answers := make([]string, len(questions))
				for i := range answers {
					answers[i] = pw
				}
				return answers, nil
			}))
	}
	sock := c.agentSocketPath
	if env := os.Getenv("SSH_AUTH_SOCK"); sock == nil && env != "" {
		sock = &env
	}
	if sock != nil {
		conn, err := net.Dial("unix", *sock)
		if err != nil {
			return nil, err
		}
		cfg.Auth = append(cfg.Auth, ssh.PublicKeysCallback(agent.NewClient(conn).Signers))
	}
	return cfg, nil
}

// dialWithRetry calls f until it succeeds or more than limit attempts failed
// (limit -1: forever), with pulumi's default backoff (0.1 s x1.5, max 5 s).
// Each failed attempt that is retried shows as a transient status line
// "<what> n/limit failed: retrying"; the final error is
// "after <failed retries> failed attempts: <last error>".
func dialWithRetry[T any](ctx context.Context, status func(string), what string, limit int, f func() (T, error)) (T, error) {
	var zero T
	ok, data, err := retry.Until(ctx, retry.Acceptor{
		Accept: func(try int, _ time.Duration) (bool, any, error) {
			v, err := f()
			if err == nil {
				return true, v, nil
			}
			dials := try + 1
			if limit > unlimitedDialErrors && dials > limit {
				return true, nil, fmt.Errorf("after %d failed attempts: %w", try, err)
			}
			max := "inf"
			if limit != unlimitedDialErrors {
				max = strconv.Itoa(limit)
			}
			status(fmt.Sprintf("%s %d/%s failed: retrying", what, dials, max))
			return false, nil, nil
		},
	})
	if ok && err == nil {
		return data.(T), nil
	}
	if err == nil {
		err = ctx.Err()
	}
	return zero, err
}

// openClients holds every SSH client this plugin opened. Like upstream, none is
// closed before the plugin exits; keeping them here makes that explicit.
var openClients struct {
	sync.Mutex
	list []*ssh.Client
}

func keepOpen(c *ssh.Client) *ssh.Client {
	openClients.Lock()
	defer openClients.Unlock()
	openClients.list = append(openClients.list, c)
	return c
}

// dial opens a new SSH client for one command (directly or through the proxy).
func (c *connection) dial(ctx context.Context, status func(string)) (*ssh.Client, error) {
	cfg, err := c.config()
	if err != nil {
		return nil, err
	}
	endpoint := c.addr()
	if c.proxy == nil {
		client, err := dialWithRetry(ctx, status, "Dial", c.dialErrorLimit, func() (*ssh.Client, error) {
			return ssh.Dial("tcp", endpoint, cfg)
		})
		if err != nil {
			return nil, err
		}
		return keepOpen(client), nil
	}

	proxyCfg, err := c.proxy.config()
	if err != nil {
		return nil, fmt.Errorf("proxy: %w", err)
	}
	proxyClient, err := dialWithRetry(ctx, status, "Dial proxy", c.proxy.dialErrorLimit, func() (*ssh.Client, error) {
		return ssh.Dial("tcp", c.proxy.addr(), proxyCfg)
	})
	if err != nil {
		return nil, fmt.Errorf("proxy: %w", err)
	}
	keepOpen(proxyClient)
	// The hop from the proxy: no timeout (perDialTimeout applies to TCP connects
	// made here only).
	conn, err := dialWithRetry(ctx, status, "Dial from proxy", c.dialErrorLimit, func() (net.Conn, error) {
		return proxyClient.Dial("tcp", endpoint)
	})
	if err != nil {
		return nil, fmt.Errorf("proxy: %w", err)
	}
	// Upstream retries the handshake on the same connection, which a failed
	// handshake has already closed: only the first attempt can succeed.
	type handshake struct {
		conn  ssh.Conn
		chans <-chan ssh.NewChannel
		reqs  <-chan *ssh.Request
	}
	hs, err := dialWithRetry(ctx, status, "Dial", c.dialErrorLimit, func() (handshake, error) {
		sc, chans, reqs, err := ssh.NewClientConn(conn, endpoint, cfg)
		return handshake{sc, chans, reqs}, err
	})
	if err != nil {
		return nil, fmt.Errorf("proxy: %w", err)
	}
	return keepOpen(ssh.NewClient(hs.conn, hs.chans, hs.reqs)), nil
}
