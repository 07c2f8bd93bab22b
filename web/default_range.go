package web

import (
	"context"
	"time"

	"github.com/ritwikareddykancharla/token-path-observability/web/components"
)

// qDataStart is the earliest evaluation step, within the last hour, at
// which tokenpath held any scrape or token-path series (30 s resolution;
// the lookback makes it at most that early). Nothing older matters: the
// default range is capped at an hour.
const qDataStart = `min(min_over_time(timestamp(count({__name__=~"up|tokenpath:requests_running"}))[1h:30s]))`

// fittingRange picks the range of a page opened without one from how long
// data has existed; on an API error it keeps DefaultRange.
func (u *UI) fittingRange(ctx context.Context) string {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	vec, err := u.instant(ctx, qDataStart)
	if err != nil {
		u.log.Warn("finding when data starts, for the default range", "err", err)
		return components.DefaultRange
	}
	if len(vec) == 0 {
		return components.FittingRange(-1)
	}
	start := time.Unix(0, int64(float64(vec[0].Value)*float64(time.Second)))
	return components.FittingRange(u.now().Sub(start))
}
