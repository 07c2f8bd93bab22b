package packaging_test

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"debug/elf"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/ritwikareddykancharla/token-path-observability/internal/testbin"
)

// release is one `make release` into a temporary dist directory, shared by
// the release and Debian package tests (a release build takes minutes).
var release struct {
	once sync.Once
	dir  string
	err  error
}

// releaseDir runs `make release` once per test binary and returns its dist.
func releaseDir(t *testing.T) string {
	t.Helper()
	release.once.Do(func() {
		release.dir, release.err = os.MkdirTemp("", "tokenpath-dist-")
		if release.err != nil {
			return
		}
		release.err = makeRelease(moduleRootOrEmpty(), release.dir)
	})
	require.NoError(t, release.err)
	return release.dir
}

func moduleRootOrEmpty() string {
	root, _ := testbin.ModuleRoot()
	return root
}

func makeRelease(root, dist string) error {
	var stderr bytes.Buffer
	cmd := exec.Command("make", "-s", "--no-print-directory", "release", "DIST="+dist)
	cmd.Dir = root
	cmd.Env = testbin.CleanEnv()
	cmd.Stdout = io.Discard
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("make release DIST=%s: %w\n%s", dist, err, stderr.String())
	}
	if s := stderr.String(); s != "" {
		return fmt.Errorf("make release printed on stderr (a warning?):\n%s", s)
	}
	return nil
}

// stamp is the release's version and the commit it is built from.
type stamp struct{ version, revision, branch string }

func wantStamp(t *testing.T) stamp {
	t.Helper()
	root := moduleRoot(t)
	v, err := os.ReadFile(filepath.Join(root, "VERSION"))
	require.NoError(t, err)
	rev, _ := run(t, root, nil, "git", "rev-parse", "HEAD")
	branch, _ := run(t, root, nil, "git", "rev-parse", "--abbrev-ref", "HEAD")
	return stamp{strings.TrimSpace(string(v)), strings.TrimSpace(rev), strings.TrimSpace(branch)}
}

func (s stamp) versionLine() string {
	return fmt.Sprintf("tokenpath, version %s (branch: %s, revision: %s)", s.version, s.branch, s.revision)
}

// TestRelease builds the release twice and checks that the bytes are the
// same, that the archives hold what a user needs, that both binaries are
// stripped cgo builds for their architecture, and runs each: amd64 natively,
// arm64 under qemu-user with Debian's aarch64 C library.
func TestRelease(t *testing.T) {
	testbin.RequirePeer(t, "aarch64-linux-gnu-gcc", "gcc-aarch64-linux-gnu")
	qemu := testbin.RequirePeer(t, "qemu-aarch64", "qemu-user")
	testbin.RequirePeer(t, "/usr/aarch64-linux-gnu/lib/ld-linux-aarch64.so.1", "libc6-arm64-cross")
	want := wantStamp(t)
	dist := releaseDir(t)

	names := []string{
		"sha256sums.txt",
		"tokenpath-" + want.version + ".linux-amd64.tar.gz",
		"tokenpath-" + want.version + ".linux-arm64.tar.gz",
		"tokenpath_" + want.version + "_amd64.deb",
		"tokenpath_" + want.version + "_arm64.deb",
	}

	t.Run("reproducible", func(t *testing.T) {
		again := t.TempDir()
		require.NoError(t, makeRelease(moduleRoot(t), again))
		for _, name := range names {
			a, err := os.ReadFile(filepath.Join(dist, name))
			require.NoError(t, err)
			b, err := os.ReadFile(filepath.Join(again, name))
			require.NoError(t, err)
			require.True(t, bytes.Equal(a, b), "%s differs between two builds of one commit", name)
		}
	})

	t.Run("checksums", func(t *testing.T) {
		sums, err := os.ReadFile(filepath.Join(dist, "sha256sums.txt"))
		require.NoError(t, err)
		var listed []string
		for line := range strings.Lines(string(sums)) {
			sum, name, ok := strings.Cut(strings.TrimSpace(line), "  ")
			require.True(t, ok, line)
			data, err := os.ReadFile(filepath.Join(dist, name))
			require.NoError(t, err)
			got := sha256.Sum256(data)
			require.Equal(t, sum, hex.EncodeToString(got[:]), name)
			listed = append(listed, name)
		}
		slices.Sort(listed)
		require.Equal(t, names[1:], listed)
	})

	epoch := sourceDateEpoch(t)
	for _, arch := range []string{"amd64", "arm64"} {
		t.Run("archive "+arch, func(t *testing.T) {
			dir := "tokenpath-" + want.version + ".linux-" + arch
			entries := readTarGz(t, filepath.Join(dist, dir+".tar.gz"))
			var got []string
			for _, e := range entries {
				got = append(got, e.Name)
				require.Equal(t, 0, e.Uid, e.Name)
				require.Equal(t, 0, e.Gid, e.Name)
				require.Equal(t, epoch, e.ModTime.Unix(), "%s: mtime is SOURCE_DATE_EPOCH", e.Name)
			}
			require.Equal(t, []string{
				dir + "/", dir + "/LICENSE", dir + "/NOTICE", dir + "/THIRD_PARTY_LICENSES", dir + "/tokenpath",
				dir + "/tokenpath.service", dir + "/tokenpath.yml",
			}, got)
			require.Equal(t, int64(0o755), entries[4].Mode&0o777, "the binary is executable")
			third, err := os.ReadFile(filepath.Join(dist, dir, "THIRD_PARTY_LICENSES"))
			require.NoError(t, err)
			require.Contains(t, string(third), "github.com/prometheus/prometheus ", "the licences of the bundled modules")
			license, err := os.ReadFile(filepath.Join(dist, dir, "LICENSE"))
			require.NoError(t, err)
			require.True(t, strings.HasPrefix(string(license), "MIT License"))

			bin := filepath.Join(dist, dir, "tokenpath")
			f, err := elf.Open(bin)
			require.NoError(t, err)
			defer f.Close()
			machine := map[string]elf.Machine{"amd64": elf.EM_X86_64, "arm64": elf.EM_AARCH64}[arch]
			require.Equal(t, machine, f.Machine)
			require.Nil(t, f.Section(".symtab"), "stripped: no symbol table")
			require.Nil(t, f.Section(".debug_info"), "stripped: no DWARF")
			libs, err := f.ImportedLibraries()
			require.NoError(t, err)
			require.Contains(t, libs, "libc.so.6", "a cgo build, dynamically linked against glibc (NVML is dlopen'd)")
		})
	}

	t.Run("amd64 runs", func(t *testing.T) {
		dir := filepath.Join(dist, "tokenpath-"+want.version+".linux-amd64")
		runRelease(t, want, dir, filepath.Join(dir, "tokenpath"))
	})
	t.Run("arm64 runs under qemu", func(t *testing.T) {
		dir := filepath.Join(dist, "tokenpath-"+want.version+".linux-arm64")
		runRelease(t, want, dir, qemu, "-L", "/usr/aarch64-linux-gnu", filepath.Join(dir, "tokenpath"))
	})
}

func sourceDateEpoch(t *testing.T) int64 {
	t.Helper()
	out, _ := run(t, moduleRoot(t), nil, "git", "log", "-1", "--format=%ct")
	epoch, err := strconv.ParseInt(strings.TrimSpace(out), 10, 64)
	require.NoError(t, err)
	return epoch
}

func readTarGz(t *testing.T, path string) []*tar.Header {
	t.Helper()
	f, err := os.Open(path)
	require.NoError(t, err)
	defer f.Close()
	gz, err := gzip.NewReader(f)
	require.NoError(t, err)
	require.True(t, gz.ModTime.IsZero(), "no timestamp in the gzip header")
	tr := tar.NewReader(gz)
	var out []*tar.Header
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return out
		}
		require.NoError(t, err)
		out = append(out, h)
	}
}

// runRelease runs a release binary (through cmd, e.g. qemu) as a user of the
// archive would: --version, check config on the example file, then a short
// serve --demo that must answer /-/ready.
func runRelease(t *testing.T, want stamp, dir string, cmd ...string) {
	t.Helper()
	exe := func(args ...string) (string, error) {
		c := exec.Command(cmd[0], append(slices.Clone(cmd[1:]), args...)...)
		c.Env = testbin.CleanEnv()
		out, err := c.CombinedOutput()
		return string(out), err
	}
	out, err := exe("--version")
	require.NoError(t, err, out)
	require.Equal(t, want.versionLine(), strings.SplitN(out, "\n", 2)[0])
	require.Contains(t, out, "build user:       tokenpath-release")

	out, err = exe("check", "config", filepath.Join(dir, "tokenpath.yml"))
	require.NoError(t, err, out)
	require.Contains(t, out, "SUCCESS")

	addr := testbin.FreePort(t)
	p := testbin.StartPeer(t, testbin.PeerOptions{
		Name: "tokenpath " + filepath.Base(cmd[len(cmd)-1]), Command: cmd[0],
		Args: append(slices.Clone(cmd[1:]), "--demo", "--web.listen-address="+addr, "--storage.tsdb.path="+t.TempDir()),
		Env:  testbin.CleanEnv(), Addr: addr, ReadyPath: "/-/ready",
		// Emulated, a start takes seconds rather than a fraction of one.
		ReadyTimeout: 3 * time.Minute,
	})
	defer p.Stop()
	resp, err := http.Get(p.URL() + "/-/ready") //nolint:noctx // loopback, bounded by the default transport
	require.NoError(t, err)
	body, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	require.NoError(t, resp.Body.Close())
	require.Contains(t, string(body), "Ready")
}
