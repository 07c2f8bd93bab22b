package components

import (
	"testing"

	"go.uber.org/goleak"
)

// Components render synchronously; a leaked goroutine would be a bug.
func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }
