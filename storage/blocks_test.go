package storage

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestMaxBlockDuration(t *testing.T) {
	for _, tc := range []struct {
		retention time.Duration
		want      time.Duration
	}{
		{15 * 24 * time.Hour, 36 * time.Hour},       // the default retention: a tenth
		{365 * 24 * time.Hour, 31 * 24 * time.Hour}, // capped at 31 days
		{0, 31 * 24 * time.Hour},                    // no time retention
		{6 * time.Hour, 2 * time.Hour},              // never below the 2 h head block
	} {
		require.Equal(t, tc.want.Milliseconds(), MaxBlockDuration(tc.retention), "retention %s", tc.retention)
	}
}
