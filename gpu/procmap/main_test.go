package procmap

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain fails the package when a refresh goroutine outlives its test.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}
