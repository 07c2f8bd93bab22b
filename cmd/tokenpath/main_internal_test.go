package main

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestWaitInit: the rule manager is run whenever the first configuration
// applied, even when the group is stopping at the same moment (its Stop
// waits for Run), and never when it did not apply (Stop is then skipped).
func TestWaitInit(t *testing.T) {
	tests := []struct {
		name      string
		applied   bool
		cancelled bool
		want      bool
	}{
		{name: "applied", applied: true, want: true},
		{name: "applied and stopping", applied: true, cancelled: true, want: true},
		{name: "stopping before it applied", cancelled: true, want: false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			done := make(chan struct{})
			if tc.applied {
				close(done)
			}
			if tc.cancelled {
				cancel()
			}
			// Both channels ready: the select inside must not pick at random.
			for range 100 {
				require.Equal(t, tc.want, waitInit(ctx, done))
			}
		})
	}
}
