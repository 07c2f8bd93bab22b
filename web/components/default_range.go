package components

import (
	"time"

	"github.com/prometheus/common/model"
)

// MaxDefaultRange caps the range a page opens with: a long history still
// opens on the last hour, where the user looks first.
const MaxDefaultRange = time.Hour

// FittingRange is the range a page opens with when the URL names none: the
// shortest option that covers span (how long data has existed), from 5m up
// to MaxDefaultRange, so that a fresh install does not open on 58 empty
// minutes. A negative span (no data at all) opens on the shortest option.
func FittingRange(span time.Duration) string {
	opts := RangeOptions()
	for _, o := range opts {
		d, err := model.ParseDuration(o)
		if err != nil {
			continue
		}
		if time.Duration(d) >= MaxDefaultRange || time.Duration(d) >= span {
			return o
		}
	}
	return DefaultRange
}
