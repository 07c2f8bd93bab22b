package rules

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestCheckRuleFiles checks the promtool-style report on good and broken
// files: the file name, the line and the problem are named.
func TestCheckRuleFiles(t *testing.T) {
	missing := filepath.Join(t.TempDir(), "missing.rules.yml")
	cases := []struct {
		name    string
		files   []string
		want    []string
		wantErr []string
	}{
		{
			name:  "good file",
			files: []string{"testdata/good.rules.yml"},
			want:  []string{"Checking testdata/good.rules.yml\n  SUCCESS: 2 rules found\n\n"},
		},
		{
			name:  "bad expression",
			files: []string{"testdata/bad_expr.rules.yml"},
			want: []string{
				"Checking testdata/bad_expr.rules.yml\n  FAILED:\n",
				// file: line:column: group, rule index and name, then the parser's complaint.
				`testdata/bad_expr.rules.yml: 8:15: group "user.broken", rule 2, "Broken": could not parse expression:`,
			},
			wantErr: []string{"1 of 1 rule files are invalid: testdata/bad_expr.rules.yml"},
		},
		{
			name:    "unknown field",
			files:   []string{"testdata/bad_yaml.rules.yml"},
			want:    []string{"testdata/bad_yaml.rules.yml: yaml: unmarshal errors:\n  line 6: field expresion not found\n"},
			wantErr: []string{"1 of 1 rule files are invalid: testdata/bad_yaml.rules.yml"},
		},
		{
			name:    "missing file",
			files:   []string{missing},
			want:    []string{missing + ": open " + missing + ": no such file or directory"},
			wantErr: []string{"1 of 1 rule files are invalid: " + missing},
		},
		{
			name:  "good and bad together",
			files: []string{"testdata/good.rules.yml", "testdata/bad_expr.rules.yml"},
			want: []string{
				"Checking testdata/good.rules.yml\n  SUCCESS: 2 rules found\n\nChecking testdata/bad_expr.rules.yml\n  FAILED:\n",
			},
			wantErr: []string{"1 of 2 rule files are invalid", "bad_expr.rules.yml"},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var out bytes.Buffer
			err := CheckRuleFiles(&out, tc.files...)
			for _, w := range tc.want {
				require.Contains(t, out.String(), w)
			}
			if len(tc.wantErr) == 0 {
				require.NoError(t, err)
				return
			}
			require.Error(t, err)
			for _, w := range tc.wantErr {
				require.ErrorContains(t, err, w)
			}
			require.NotContains(t, err.Error(), "good.rules.yml")
			// Each problem is printed once, in the report, never in the
			// error, and without Go type names or source paths.
			require.NotContains(t, err.Error(), "could not parse")
			require.NotContains(t, out.String(), "in type")
			require.NotContains(t, out.String()+err.Error(), ".go")
		})
	}
}

// TestCheckRuleFilesOnWrittenDefaults checks a file a user edited from the
// defaults: one broken threshold line is reported with its line number.
func TestCheckRuleFilesOnWrittenDefaults(t *testing.T) {
	files, err := DefaultRuleFiles(Thresholds{})
	require.NoError(t, err)
	broken := bytes.Replace(files[AlertRuleFile], []byte("> 5\n"), []byte("> (5\n"), 1)
	require.NotEqual(t, files[AlertRuleFile], broken)
	p := filepath.Join(t.TempDir(), "alerts.rules.yml")
	require.NoError(t, os.WriteFile(p, broken, 0o600))

	var out bytes.Buffer
	err = CheckRuleFiles(&out, p)
	require.ErrorContains(t, err, p)
	require.Contains(t, out.String(), `group "tokenpath.alerts", rule 1, "HighTTFT": could not parse expression`)
}
