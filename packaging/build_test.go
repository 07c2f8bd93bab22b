package packaging_test

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/ritwikareddykancharla/token-path-observability/internal/testbin"
)

// moduleRoot is the repository root, where the Makefile is.
func moduleRoot(t *testing.T) string {
	t.Helper()
	root, err := testbin.ModuleRoot()
	require.NoError(t, err)
	return root
}

// run runs a command in dir with extra environment and returns stdout and
// stderr apart, failing the test with both when it fails.
func run(t *testing.T, dir string, env []string, name string, args ...string) (stdout, stderr string) {
	t.Helper()
	var out, errb bytes.Buffer
	cmd := exec.Command(name, args...)
	cmd.Dir = dir
	cmd.Env = append(testbin.CleanEnv(), env...)
	cmd.Stdout, cmd.Stderr = &out, &errb
	require.NoError(t, cmd.Run(), "%s %s\nstdout:\n%s\nstderr:\n%s", name, strings.Join(args, " "), out.String(), errb.String())
	return out.String(), errb.String()
}

// TestColdBuildQuiet: the C compilations of a build through the Makefile
// print nothing. go-nvml's header warns on every deprecated NVML call it
// declares (about 150 lines) unless the Makefile's CGO_CFLAGS reach its cgo
// compilation. A define unique to this run makes every cgo package of
// tokenpath's build miss the build cache, so they really are compiled —
// without paying for a cold build of everything else.
func TestColdBuildQuiet(t *testing.T) {
	root := moduleRoot(t)
	nonce := fmt.Sprintf("-O2 -g -DTOKENPATH_COLD_BUILD_%d", time.Now().UnixNano())

	// The Makefile appends its flag to the caller's CGO_CFLAGS.
	flags, _ := run(t, root, []string{"CGO_CFLAGS=" + nonce}, "make", "-s", "--no-print-directory", "print-cgo-cflags")
	flags = strings.TrimSpace(flags)
	require.Equal(t, nonce+" -Wno-deprecated-declarations", flags)

	pkgsOut, _ := run(t, root, nil, "go", "list", "-deps", "-f", "{{if .CgoFiles}}{{.ImportPath}}{{end}}", "./cmd/tokenpath")
	pkgs := strings.Fields(pkgsOut)
	require.Contains(t, pkgs, "github.com/NVIDIA/go-nvml/pkg/nvml", "NVML is read through go-nvml's cgo package")

	// Without the flag the same cold compilation warns: the check can fail.
	noisy := exec.Command("go", append([]string{"build", "-o", os.DevNull}, pkgs...)...)
	noisy.Dir = root
	noisy.Env = append(testbin.CleanEnv(), "CGO_CFLAGS="+nonce+" -DWITHOUT_THE_FLAG")
	out, err := noisy.CombinedOutput()
	require.NoError(t, err, "%s", out)
	require.Contains(t, string(out), "-Wdeprecated-declarations", "go-nvml's header warns without the Makefile's flag")

	stdout, stderr := run(t, root, []string{"CGO_CFLAGS=" + flags}, "go", append([]string{"build", "-o", os.DevNull}, pkgs...)...)
	require.Empty(t, stdout)
	require.Empty(t, stderr, "a cold cgo build with the Makefile's CGO_CFLAGS prints nothing")
}
