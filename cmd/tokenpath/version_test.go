package main_test

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	"github.com/stretchr/testify/require"

	"github.com/ritwikareddykancharla/token-path-observability/internal/testbin"
)

// buildStamp is what the Makefile stamps into a build of this checkout.
type buildStamp struct{ version, revision, branch string }

func expectedStamp(t *testing.T) buildStamp {
	t.Helper()
	root, err := testbin.ModuleRoot()
	require.NoError(t, err)
	v, err := os.ReadFile(filepath.Join(root, "VERSION"))
	require.NoError(t, err)
	git := func(args ...string) string {
		cmd := exec.Command("git", args...)
		cmd.Dir = root
		out, err := cmd.Output()
		require.NoError(t, err, "git %s", strings.Join(args, " "))
		return strings.TrimSpace(string(out))
	}
	s := buildStamp{
		version:  strings.TrimSpace(string(v)),
		revision: git("rev-parse", "HEAD"),
		branch:   git("rev-parse", "--abbrev-ref", "HEAD"),
	}
	require.Regexp(t, `^\d+\.\d+\.\d+(-[0-9A-Za-z.-]+)?$`, s.version, "VERSION holds a release number")
	require.Regexp(t, `^[0-9a-f]{40}$`, s.revision)
	return s
}

// TestVersionStamped checks that a build with the Makefile's -ldflags (the
// one internal/testbin makes) says which release, commit and branch it is, in
// each of the three places a user looks: --version, buildinfo and the metric.
func TestVersionStamped(t *testing.T) {
	want := expectedStamp(t)
	bin := testbin.Binary(t)

	var stdout, stderr bytes.Buffer
	cmd := exec.Command(bin, "--version")
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	require.NoError(t, cmd.Run(), stderr.String())
	out := stdout.String() + stderr.String() // kingpin prints the version on stdout
	lines := strings.Split(strings.TrimSpace(out), "\n")
	require.Equal(t, fmt.Sprintf("tokenpath, version %s (branch: %s, revision: %s)", want.version, want.branch, want.revision), lines[0], out)
	require.Regexp(t, `(?m)^\s+build user:\s+\S+@\S+$`, out)
	require.Regexp(t, `(?m)^\s+build date:\s+\d{8}-\d{2}:\d{2}:\d{2}$`, out)
	buildDate := regexp.MustCompile(`(?m)^\s+build date:\s+(\S+)$`).FindStringSubmatch(out)[1]

	p := start(t, procOpts{})
	bi, err := p.api().Buildinfo(ctxT(t))
	require.NoError(t, err)
	require.Equal(t, want.version, bi.Version)
	require.Equal(t, want.revision, bi.Revision)
	require.Equal(t, want.branch, bi.Branch)
	require.Equal(t, buildDate, bi.BuildDate)
	require.NotEmpty(t, bi.BuildUser)

	code, body := p.get("/metrics", nil)
	require.Equal(t, 200, code)
	parser := expfmt.NewTextParser(model.UTF8Validation)
	families, err := parser.TextToMetricFamilies(bytes.NewReader(body))
	require.NoError(t, err)
	info, ok := families["tokenpath_build_info"]
	require.True(t, ok, "tokenpath_build_info is exported")
	require.Len(t, info.GetMetric(), 1)
	labels := map[string]string{}
	for _, l := range info.GetMetric()[0].GetLabel() {
		labels[l.GetName()] = l.GetValue()
	}
	require.Equal(t, want.version, labels["version"])
	require.Equal(t, want.revision, labels["revision"])
	require.Equal(t, want.branch, labels["branch"])
	require.Equal(t, 1.0, info.GetMetric()[0].GetGauge().GetValue())
}
