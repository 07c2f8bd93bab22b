package config

import (
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestHostLabel: the external label host is the machine's name unless the
// file's global.external_labels sets it; other external labels stay.
func TestHostLabel(t *testing.T) {
	box := func() (string, error) { return "gpu-box-7", nil }
	cases := []struct {
		name     string
		file     string // configuration file content; "" for none
		hostname func() (string, error)
		want     map[string]string
		err      string
	}{
		{name: "no file: the hostname", hostname: box, want: map[string]string{"host": "gpu-box-7"}},
		{
			name:     "other external labels are kept",
			file:     "global:\n  external_labels:\n    site: edge-1\n",
			hostname: box,
			want:     map[string]string{"site": "edge-1", "host": "gpu-box-7"},
		},
		{
			name:     "the file's host wins",
			file:     "global:\n  external_labels:\n    host: rack3-node12\n",
			hostname: box,
			want:     map[string]string{"host": "rack3-node12"},
		},
		{
			name:     "the file's host is used when the hostname is unknown",
			file:     "global:\n  external_labels:\n    host: rack3-node12\n",
			hostname: func() (string, error) { return "", errors.New("uname failed") },
			want:     map[string]string{"host": "rack3-node12"},
		},
		{
			name:     "an unknown hostname without a host label is an error naming the field",
			file:     "global:\n  scrape_interval: 15s\n",
			hostname: func() (string, error) { return "", errors.New("uname failed") },
			err:      "global.external_labels.host",
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			src := Sources{Hostname: tc.hostname}
			if tc.file != "" {
				src.ConfigFile = filepath.Join(t.TempDir(), "tokenpath.yml")
				require.NoError(t, os.WriteFile(src.ConfigFile, []byte(tc.file), 0o600))
			}
			cfg, err := Load(src, slog.New(slog.DiscardHandler))
			if tc.err != "" {
				require.ErrorContains(t, err, tc.err)
				require.ErrorContains(t, err, src.ConfigFile)
				return
			}
			require.NoError(t, err)
			require.Equal(t, tc.want, cfg.Prometheus.GlobalConfig.ExternalLabels.Map())
		})
	}
}
