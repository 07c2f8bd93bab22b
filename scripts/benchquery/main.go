// Command benchquery times every Grafana panel's range queries (the panels of
// grafana/panels, with the template variables at "all") against a
// Prometheus-compatible API, as the dashboards and the built-in UI send them:
// a panel's queries at once, the step the UI picks for the range (at most 720
// points). It prints one line per panel: median and p95 wall time over the
// repetitions and the number of series returned, so two engines on the same
// data can be compared line by line. With --against it times a second API in
// the same loop, alternating which one is asked first (A B, B A, …), so both
// see the same machine load at the same moments and the per-panel ratio does
// not depend on which run came first. A benchmark tool, not part of tokenpath.
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"log"
	"math"
	"net/http"
	"net/url"
	"os"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/ritwikareddykancharla/token-path-observability/grafana/panels"
)

// maxPoints is the built-in UI's points per series (web/ui/src/range.js).
const maxPoints = 720

func main() {
	base := flag.String("url", "http://127.0.0.1:9090", "API base URL")
	rng := flag.Duration("range", 24*time.Hour, "time range of every query")
	end := flag.Int64("end", 0, "end of the range, Unix seconds (0: now)")
	repeat := flag.Int("repeat", 5, "times every panel is queried (bounded)")
	against := flag.String("against", "", "a second API base URL timed in the same loop, alternating order; prints both and their ratio (url / against)")
	longRange := flag.Bool("long-range", true, "from a 6 h range on, read the 5 m heatmap and percentile series as the UI and dashboards do (panels.ForRange); false reads the 1 m ones at every range")
	flag.Parse()
	if *repeat < 1 || *repeat > 1000 {
		log.Fatalf("--repeat=%d: want 1..1000", *repeat)
	}
	e := *end
	if e == 0 {
		e = time.Now().Unix()
	}
	step := int64(math.Ceil(rng.Seconds() / maxPoints))
	start := (e - int64(rng.Seconds())) / step * step
	e = (e + step - 1) / step * step

	client := &http.Client{Timeout: 5 * time.Minute}
	var all []panels.Panel
	all = append(all, panels.TokenPath()...)
	all = append(all, panels.Latency()...)
	all = append(all, panels.GPU()...)
	if *longRange {
		for i, p := range all {
			all[i] = panels.ForRange(p, *rng)
		}
	}
	if *against != "" {
		compare(client, all, *base, *against, *rng, start, e, step, *repeat, *longRange)
		return
	}
	fmt.Printf("# %s range=%s step=%ds repeat=%d long-range=%t\n", *base, *rng, step, *repeat, *longRange)
	fmt.Printf("%-32s %10s %10s %8s\n", "panel", "median_ms", "p95_ms", "series")
	var total []float64
	for _, p := range all {
		var times []float64
		series := 0
		for range *repeat {
			ms, n := timePanel(client, *base, p, start, e, step)
			times = append(times, ms)
			series = n
		}
		slices.Sort(times)
		total = append(total, quantile(times, 0.5))
		fmt.Printf("%-32s %10.1f %10.1f %8d\n", p.ID, quantile(times, 0.5), quantile(times, 0.95), series)
	}
	fmt.Printf("%-32s %10.1f\n", "sum_of_medians", sum(total))
}

// compare times every panel on two APIs in one loop: repetition i asks a
// first when i is even and b first when it is odd, so slow moments of the
// machine fall on both. It prints both medians and p95s, the ratio of the
// medians (a / b), the median of the per-repetition ratios (each a / b of
// two queries asked back to back, the statistic least moved by the machine's
// load) and both series counts, which must agree on the same data.
func compare(c *http.Client, all []panels.Panel, a, b string, rng time.Duration, start, end, step int64, repeat int, longRange bool) {
	fmt.Printf("# a=%s b=%s range=%s step=%ds repeat=%d long-range=%t, order alternating\n", a, b, rng, step, repeat, longRange)
	fmt.Printf("%-32s %10s %10s %10s %10s %7s %7s %8s %8s\n", "panel", "a_med_ms", "a_p95_ms", "b_med_ms", "b_p95_ms", "a/b", "paired", "a_series", "b_series")
	var totalA, totalB []float64
	mismatch := 0
	for _, p := range all {
		var timesA, timesB, ratios []float64
		var seriesA, seriesB int
		for i := range repeat {
			first, second := a, b
			if i%2 == 1 {
				first, second = b, a
			}
			ms1, n1 := timePanel(c, first, p, start, end, step)
			ms2, n2 := timePanel(c, second, p, start, end, step)
			if first == b {
				ms1, ms2, n1, n2 = ms2, ms1, n2, n1
			}
			timesA, timesB = append(timesA, ms1), append(timesB, ms2)
			ratios = append(ratios, ms1/ms2)
			seriesA, seriesB = n1, n2
		}
		slices.Sort(timesA)
		slices.Sort(timesB)
		slices.Sort(ratios)
		medA, medB := quantile(timesA, 0.5), quantile(timesB, 0.5)
		totalA, totalB = append(totalA, medA), append(totalB, medB)
		if seriesA != seriesB {
			mismatch++
		}
		fmt.Printf("%-32s %10.1f %10.1f %10.1f %10.1f %7.2f %7.2f %8d %8d\n", p.ID, medA, quantile(timesA, 0.95), medB, quantile(timesB, 0.95), medA/medB, quantile(ratios, 0.5), seriesA, seriesB)
	}
	fmt.Printf("%-32s %10.1f %10s %10.1f %10s %7.2f\n", "sum_of_medians", sum(totalA), "", sum(totalB), "", sum(totalA)/sum(totalB))
	if mismatch > 0 {
		log.Fatalf("%d panels returned different series counts from %s and %s: the two are not reading the same data", mismatch, a, b)
	}
}

// timePanel sends a panel's queries once and returns the wall time in
// milliseconds and the number of series; a failed query ends the run.
func timePanel(c *http.Client, base string, p panels.Panel, start, end, step int64) (float64, int) {
	t0 := time.Now()
	n, err := queryPanel(c, base, p, start, end, step)
	if err != nil {
		log.Fatalf("panel %s on %s: %v", p.ID, base, err)
	}
	return float64(time.Since(t0).Microseconds()) / 1000, n
}

func sum(xs []float64) float64 {
	total := 0.0
	for _, x := range xs {
		total += x
	}
	return total
}

// quantile of sorted values, nearest rank.
func quantile(sorted []float64, q float64) float64 {
	i := int(math.Ceil(q*float64(len(sorted)))) - 1
	return sorted[max(i, 0)]
}

// queryPanel sends a panel's queries concurrently, as the UI does, and
// returns the number of series they returned.
func queryPanel(c *http.Client, base string, p panels.Panel, start, end, step int64) (int, error) {
	var wg sync.WaitGroup
	counts := make([]int, len(p.Queries))
	errs := make([]error, len(p.Queries))
	for i, q := range p.Queries {
		wg.Go(func() {
			counts[i], errs[i] = queryRange(c, base, panels.Expand(q.Expr, nil), start, end, step)
		})
	}
	wg.Wait()
	n := 0
	for i := range counts {
		if errs[i] != nil {
			return 0, errs[i]
		}
		n += counts[i]
	}
	return n, nil
}

func queryRange(c *http.Client, base, expr string, start, end, step int64) (int, error) {
	v := url.Values{}
	v.Set("query", expr)
	v.Set("start", strconv.FormatInt(start, 10))
	v.Set("end", strconv.FormatInt(end, 10))
	v.Set("step", strconv.FormatInt(step, 10))
	resp, err := c.PostForm(base+"/api/v1/query_range", v)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	var body struct {
		Status string `json:"status"`
		Error  string `json:"error"`
		Data   struct {
			Result []json.RawMessage `json:"result"`
		} `json:"data"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		return 0, fmt.Errorf("%s: decoding: %w", expr, err)
	}
	if body.Status != "success" {
		return 0, fmt.Errorf("%s: %s", expr, body.Error)
	}
	return len(body.Data.Result), nil
}

func init() { log.SetOutput(os.Stderr); log.SetFlags(0) }
