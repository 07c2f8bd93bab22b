package packaging_test

import (
	"bufio"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/ritwikareddykancharla/token-path-observability/internal/testbin"
)

// TestDebianPackage installs the amd64 .deb of the release on this machine
// as a user would (dpkg -i), runs the installed binary with the installed
// configuration the way the unit does, then removes and purges it. It needs
// root, which CI is; it fails elsewhere rather than skip.
func TestDebianPackage(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Fatal("installs a Debian package: run as root (CI does), e.g. sudo make test")
	}
	dpkg := testbin.RequirePeer(t, "dpkg", "dpkg")
	analyze := testbin.RequirePeer(t, "systemd-analyze", "systemd")
	if out, err := exec.Command("dpkg-query", "-W", "-f=${Status}", "tokenpath").Output(); err == nil && strings.Contains(string(out), "installed") {
		t.Fatalf("a tokenpath package is already installed here (%s); this test installs and purges its own: dpkg --purge tokenpath first", out)
	}
	want := wantStamp(t)
	deb := filepath.Join(releaseDir(t), "tokenpath_"+want.version+"_amd64.deb")
	t.Cleanup(func() { _ = exec.Command(dpkg, "--purge", "tokenpath").Run() })

	// The package's own description: conffiles and maintainer scripts.
	conffiles, _ := run(t, "/", nil, "dpkg-deb", "--info", deb, "conffiles")
	require.ElementsMatch(t, []string{"/etc/default/tokenpath", "/etc/tokenpath/tokenpath.yml"}, strings.Fields(conffiles))
	contents, _ := run(t, "/", nil, "dpkg-deb", "--contents", deb)
	for _, p := range []string{"./usr/bin/tokenpath", "./etc/tokenpath/tokenpath.yml", "./etc/default/tokenpath", "./lib/systemd/system/tokenpath.service", "./usr/share/doc/tokenpath/THIRD_PARTY_LICENSES"} {
		require.Contains(t, contents, p)
	}

	run(t, "/", nil, dpkg, "-i", deb)

	// The system user, in the video group where it exists, and its directories.
	u, err := user.Lookup("tokenpath")
	require.NoError(t, err, "the package creates the tokenpath user")
	uid, _ := strconv.Atoi(u.Uid)
	require.Less(t, uid, 1000, "a system user")
	if video, err := user.LookupGroup("video"); err == nil {
		gids, err := u.GroupIds()
		require.NoError(t, err)
		require.Contains(t, gids, video.Gid, "tokenpath is in the video group (NVML's /dev/nvidia*)")
	}
	requireOwner(t, "/var/lib/tokenpath", u.Uid, u.Gid, 0o750)
	requireOwner(t, "/etc/tokenpath/tokenpath.yml", "0", u.Gid, 0o640)

	// The unit: systemd's own checks print nothing, and its exposure score
	// is the one README.md records.
	out, err := exec.Command(analyze, "verify", "/lib/systemd/system/tokenpath.service").CombinedOutput()
	require.NoError(t, err, "%s", out)
	require.Empty(t, strings.TrimSpace(string(out)), "systemd-analyze verify finds nothing to say")
	out, err = exec.Command(analyze, "security", "--offline=yes", "/lib/systemd/system/tokenpath.service").CombinedOutput()
	require.NoError(t, err, "%s", out)
	score := regexp.MustCompile(`Overall exposure level for tokenpath\.service: (\d+\.\d+)`).FindStringSubmatch(string(out))
	require.NotNil(t, score, "%s", out)
	readme, err := os.ReadFile(filepath.Join(moduleRoot(t), "README.md"))
	require.NoError(t, err)
	require.Contains(t, string(readme), "exposure level **"+score[1]+"**", "README.md records systemd-analyze security's score")

	// ExecStartPre and ExecStart as the unit runs them, as the tokenpath user.
	unit := readUnit(t, "/lib/systemd/system/tokenpath.service")
	env := readEnvFile(t, "/etc/default/tokenpath")
	require.Equal(t, "/etc/tokenpath/tokenpath.yml", env["CONFIG_FILE"])
	addr := testbin.FreePort(t)
	expand := func(line string) []string {
		line = strings.ReplaceAll(line, "${CONFIG_FILE}", env["CONFIG_FILE"])
		// $ARGS holds the listen address; a test uses a free loopback port.
		line = strings.ReplaceAll(line, "$ARGS", "--web.listen-address="+addr)
		return strings.Fields(line)
	}
	asService := func(args []string) *exec.Cmd {
		c := exec.Command("setpriv", append([]string{"--reuid=tokenpath", "--regid=tokenpath", "--init-groups", "--"}, args...)...)
		c.Dir = "/var/lib/tokenpath"
		c.Env = testbin.CleanEnv()
		return c
	}
	pre := expand(unit["ExecStartPre"])
	require.Equal(t, []string{"/usr/bin/tokenpath", "check", "config", "/etc/tokenpath/tokenpath.yml"}, pre)
	out, err = asService(pre).CombinedOutput()
	require.NoError(t, err, "%s", out)
	require.Contains(t, string(out), "SUCCESS")

	// A broken configuration stops the start at ExecStartPre, naming the file.
	broken := filepath.Join(t.TempDir(), "broken.yml")
	require.NoError(t, os.WriteFile(broken, []byte("scrape_configs:\n  - job_name: x\n    scrape_interval: often\n"), 0o644))
	out, err = exec.Command("/usr/bin/tokenpath", "check", "config", broken).CombinedOutput()
	require.Error(t, err)
	require.Contains(t, string(out), broken)

	logs := &testbin.LogBuffer{}
	svc := asService(expand(unit["ExecStart"]))
	svc.Stdout, svc.Stderr = logs, logs
	require.NoError(t, svc.Start())
	exited := make(chan struct{})
	go func() { _ = svc.Wait(); close(exited) }()
	t.Cleanup(func() {
		_ = svc.Process.Kill()
		<-exited
	})
	waitOK(t, "http://"+addr+"/-/ready", exited, logs)
	var bi struct {
		Data struct {
			Version string `json:"version"`
		} `json:"data"`
	}
	getJSON(t, "http://"+addr+"/api/v1/status/buildinfo", &bi)
	require.Equal(t, want.version, bi.Data.Version)
	time.Sleep(3 * time.Second) // runs a few seconds: scrapes, probes, the WAL
	waitOK(t, "http://"+addr+"/-/healthy", exited, logs)
	require.NoError(t, svc.Process.Signal(syscall.SIGTERM))
	select {
	case <-exited:
	case <-time.After(30 * time.Second):
		t.Fatalf("tokenpath did not stop on SIGTERM:\n%s", logs.String())
	}
	require.Equal(t, 0, svc.ProcessState.ExitCode(), logs.String())
	require.DirExists(t, "/var/lib/tokenpath/wal", "the TSDB lives in /var/lib/tokenpath")

	// dpkg -r: the binary goes, data and configuration stay.
	run(t, "/", nil, dpkg, "-r", "tokenpath")
	require.NoFileExists(t, "/usr/bin/tokenpath")
	require.DirExists(t, "/var/lib/tokenpath/wal")
	require.FileExists(t, "/etc/tokenpath/tokenpath.yml")
	require.FileExists(t, "/etc/default/tokenpath")

	// dpkg --purge: configuration and data go too.
	run(t, "/", nil, dpkg, "--purge", "tokenpath")
	require.NoFileExists(t, "/etc/tokenpath/tokenpath.yml")
	require.NoFileExists(t, "/etc/default/tokenpath")
	require.NoDirExists(t, "/var/lib/tokenpath")
}

func requireOwner(t *testing.T, path, uid, gid string, mode os.FileMode) {
	t.Helper()
	fi, err := os.Stat(path)
	require.NoError(t, err)
	st := fi.Sys().(*syscall.Stat_t)
	require.Equal(t, uid, strconv.Itoa(int(st.Uid)), "%s owner", path)
	require.Equal(t, gid, strconv.Itoa(int(st.Gid)), "%s group", path)
	require.Equal(t, mode, fi.Mode().Perm(), "%s mode", path)
}

// readUnit returns the [Service] keys of a unit file (the last of each).
func readUnit(t *testing.T, path string) map[string]string {
	t.Helper()
	f, err := os.Open(path)
	require.NoError(t, err)
	defer f.Close()
	out := map[string]string{}
	section := ""
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		switch {
		case line == "" || strings.HasPrefix(line, "#"):
		case strings.HasPrefix(line, "["):
			section = line
		case section == "[Service]":
			k, v, _ := strings.Cut(line, "=")
			out[k] = v
		}
	}
	require.NoError(t, sc.Err())
	return out
}

// readEnvFile reads KEY=VALUE lines as systemd's EnvironmentFile= does
// (quotes around a value are removed).
func readEnvFile(t *testing.T, path string) map[string]string {
	t.Helper()
	data, err := os.ReadFile(path)
	require.NoError(t, err)
	out := map[string]string{}
	for line := range strings.Lines(string(data)) {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		k, v, ok := strings.Cut(line, "=")
		require.True(t, ok, "%s: %q", path, line)
		out[k] = strings.Trim(v, `"`)
	}
	return out
}

func waitOK(t *testing.T, url string, exited <-chan struct{}, logs *testbin.LogBuffer) {
	t.Helper()
	deadline := time.After(60 * time.Second)
	for {
		select {
		case <-exited:
			t.Fatalf("tokenpath exited:\n%s", logs.String())
		case <-deadline:
			t.Fatalf("%s never answered 200:\n%s", url, logs.String())
		case <-time.After(100 * time.Millisecond):
		}
		resp, err := http.Get(url)
		if err != nil {
			continue
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		_ = resp.Body.Close()
		if resp.StatusCode == http.StatusOK {
			return
		}
	}
}

func getJSON(t *testing.T, url string, v any) {
	t.Helper()
	resp, err := http.Get(url)
	require.NoError(t, err)
	defer resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)
	require.NoError(t, json.NewDecoder(resp.Body).Decode(v))
}
