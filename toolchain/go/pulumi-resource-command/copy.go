package main

// command:remote:CopyToRemote: copies a FileAsset, a StringAsset or a path
// FileArchive (a file or a directory) to the remote host over SFTP, with the
// behaviour of upstream pulumi-command 1.2.1 (read from its source; written
// for this provider):
//
//   - Create copies; Update copies again only when the source's hash or
//     remotePath changed (a connection change alone copies nothing); Delete
//     leaves what was copied on the host.
//   - The SSH connection is dialled like remote.Command's (retries, agent,
//     hostKey, proxy) but, unlike a command's, closed once the copy is done.
//   - Paths: a text asset must not target an existing directory; a file goes
//     into an existing directory under its base name, otherwise to remotePath
//     with its parent directories created; a directory follows the table in
//     copySource. Error texts are upstream's.

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"

	"github.com/pkg/sftp"
	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
	pulumirpc "github.com/pulumi/pulumi/sdk/v3/proto/go"
)

const copyToRemoteType = "command:remote:CopyToRemote"

// copySource is the `source` input: an asset or an archive (nil when the
// value is unknown or neither).
type copySource struct {
	asset   *resource.Asset
	archive *resource.Archive
}

func sourceOf(m resource.PropertyMap) (copySource, bool) {
	v, ok := m["source"]
	if !ok {
		return copySource{}, false
	}
	v, isKnown := unwrap(v)
	if !isKnown {
		return copySource{}, false
	}
	switch {
	case v.IsAsset():
		return copySource{asset: v.AssetValue()}, true
	case v.IsArchive():
		return copySource{archive: v.ArchiveValue()}, true
	}
	return copySource{}, true
}

// hash is what Update compares (upstream: the asset's or archive's Hash).
func (s copySource) hash() string {
	if s.archive != nil {
		return s.archive.Hash
	}
	if s.asset != nil {
		return s.asset.Hash
	}
	return ""
}

// checkSource returns upstream's Check failures for a known `source`.
func checkSource(s copySource) []*pulumirpc.CheckFailure {
	fail := func(prop, reason string) []*pulumirpc.CheckFailure {
		return []*pulumirpc.CheckFailure{{Property: prop, Reason: reason}}
	}
	switch {
	case s.asset == nil && s.archive == nil:
		return fail("asset", "either asset or archive must be set")
	case s.asset != nil && !s.asset.IsPath() && !s.asset.IsText():
		return fail("asset", "asset must be a path-based file asset or a text asset")
	case s.archive != nil && !s.archive.IsPath():
		return fail("archive", "archive must be a path to a file or directory")
	}
	return nil
}

// copyToRemote dials, opens an SFTP client and copies the source.
func (p *commandProvider) copyToRemote(ctx context.Context, urn string, inputs resource.PropertyMap) error {
	connMap, ok := getObject(inputs, "connection")
	if !ok {
		return fmt.Errorf("connection is required")
	}
	src, _ := sourceOf(inputs)
	if src.asset == nil && src.archive == nil {
		return fmt.Errorf("source must be an asset or an archive")
	}
	remotePath, _ := getString(inputs, "remotePath")
	c := parseConnection(connMap)
	isText := src.asset != nil && src.asset.IsText()
	localPath := ""
	if src.asset != nil {
		localPath = src.asset.Path
	} else {
		localPath = src.archive.Path
	}
	if isText {
		p.log(urn, pulumirpc.LogSeverity_DEBUG, fmt.Sprintf("Creating file: %s:%s from text asset", c.host, remotePath), false)
	} else {
		p.log(urn, pulumirpc.LogSeverity_DEBUG,
			fmt.Sprintf("Creating file: %s:%s from local file %s", c.host, remotePath, localPath), false)
	}

	client, err := c.dial(ctx, func(line string) { p.log(urn, pulumirpc.LogSeverity_INFO, line, true) })
	if err != nil {
		return err
	}
	// Upstream closes the copy's connection (commands keep theirs, see ssh.go).
	defer func() { _ = client.Close() }()
	// One ReadFrom per file, so concurrent writes cannot leave a file longer
	// than what was written (upstream uses the same option).
	sc, err := sftp.NewClient(client, sftp.UseConcurrentWrites(true))
	if err != nil {
		return err
	}
	defer func() { _ = sc.Close() }()
	if isText {
		return copyText(sc, src.asset.Text, remotePath)
	}
	return copyPath(sc, localPath, remotePath)
}

// remoteStat is Stat with "does not exist" as (nil, nil).
func remoteStat(sc *sftp.Client, p string) (fs.FileInfo, error) {
	info, err := sc.Stat(p)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil, nil
		}
		return nil, fmt.Errorf("failed to stat remote path %s: %w", p, err)
	}
	return info, nil
}

func copyText(sc *sftp.Client, text, dest string) error {
	st, err := remoteStat(sc, dest)
	if err != nil {
		return err
	}
	// Text has no file name of its own to put into a directory.
	if st != nil && st.IsDir() {
		return fmt.Errorf("remote path %s is a directory; when using a text asset, remotePath must be a file path", dest)
	}
	if err := sc.MkdirAll(path.Dir(dest)); err != nil {
		return fmt.Errorf("failed to create parent directories for %s: %w", dest, err)
	}
	f, err := sc.Create(dest)
	if err != nil {
		return fmt.Errorf("failed to create remote file %s: %w", dest, err)
	}
	defer func() { _ = f.Close() }()
	if _, err := f.Write([]byte(text)); err != nil {
		return fmt.Errorf("failed to write text content to remote path %s: %w", dest, err)
	}
	return nil
}

// copyPath copies a local file or directory. Upstream's rules:
//
//	source | remote is a dir     | remote missing       | remote is a file
//	dir    | remote/dir          | remote/dir (created) | error
//	dir/   | remote/<entries>    | remote/<entries>     | error
//	file   | remote/file         | remote (parents too) | remote (overwritten)
//
// (upstream's own table says "dest/dir" for dir/ into a missing remote; its code,
// followed here, creates remote and copies the entries into it.)
func copyPath(sc *sftp.Client, src, dest string) error {
	// Open first, like upstream: a missing source reads "open <path>: ...".
	f, err := os.Open(src)
	if err != nil {
		return err
	}
	info, err := f.Stat()
	_ = f.Close()
	if err != nil {
		return err
	}
	st, err := remoteStat(sc, dest)
	if err != nil {
		return err
	}
	if !info.IsDir() {
		if st != nil && st.IsDir() {
			dest = path.Join(dest, filepath.Base(src))
		} else if st == nil {
			if err := sc.MkdirAll(path.Dir(dest)); err != nil {
				return fmt.Errorf("failed to create parent directories for %s: %w", dest, err)
			}
		}
		return copyFile(sc, src, dest)
	}
	if st == nil {
		if err := sc.MkdirAll(dest); err != nil {
			return fmt.Errorf("failed to create remote directory %s: %w", dest, err)
		}
	}
	if !strings.HasSuffix(src, "/") {
		dest = path.Join(dest, filepath.Base(src))
		if err := ensureRemoteDir(sc, dest); err != nil {
			return err
		}
	}
	// Sequential, like upstream: directories first as the walk meets them.
	return fs.WalkDir(os.DirFS(src), ".", func(rel string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		target := path.Join(dest, filepath.ToSlash(rel))
		if !d.IsDir() {
			return copyFile(sc, filepath.Join(src, rel), target)
		}
		return ensureRemoteDir(sc, target)
	})
}

// ensureRemoteDir creates dir unless it exists; an existing non-directory is an error.
func ensureRemoteDir(sc *sftp.Client, dir string) error {
	st, err := remoteStat(sc, dir)
	if err != nil {
		return err
	}
	if st == nil {
		if err := sc.Mkdir(dir); err != nil {
			return fmt.Errorf("failed to create remote directory %s: %w", dir, err)
		}
		return nil
	}
	if !st.IsDir() {
		return fmt.Errorf("remote path %s exists but is not a directory", dir)
	}
	return nil
}

func copyFile(sc *sftp.Client, src, dest string) error {
	local, err := os.Open(src)
	if err != nil {
		return err
	}
	defer func() { _ = local.Close() }()
	remote, err := sc.Create(dest)
	if err != nil {
		return fmt.Errorf("failed to create remote file %s: %w", dest, err)
	}
	defer func() { _ = remote.Close() }()
	if _, err := remote.ReadFrom(local); err != nil {
		return fmt.Errorf("failed to copy file %s to remote path %s: %w", src, dest, err)
	}
	return nil
}
