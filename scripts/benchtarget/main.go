// Command benchtarget serves a /metrics page with a fixed number of gauge
// series whose values change on every scrape, as the load for
// scripts/bench-vs-prometheus.sh. It is a benchmark tool, not part of
// tokenpath.
package main

import (
	"flag"
	"fmt"
	"log"
	"net/http"
	"strconv"
	"sync/atomic"
	"time"
)

func main() {
	listen := flag.String("listen", "127.0.0.1:0", "address to listen on")
	series := flag.Int("series", 1000, "number of series to expose")
	churn := flag.Int("churn", 0, "number of further series replaced by new ones (a new gen label) every churn-every")
	churnEvery := flag.Duration("churn-every", time.Minute, "how often the churning series are replaced")
	flag.Parse()
	start := time.Now()

	var scrapes atomic.Int64
	http.HandleFunc("/metrics", func(w http.ResponseWriter, _ *http.Request) {
		n := scrapes.Add(1)
		w.Header().Set("Content-Type", "text/plain; version=0.0.4")
		buf := make([]byte, 0, *series*64)
		buf = append(buf, "# HELP bench_value A changing value.\n# TYPE bench_value gauge\n"...)
		for i := range *series {
			buf = append(buf, `bench_value{shard="`...)
			buf = strconv.AppendInt(buf, int64(i%100), 10)
			buf = append(buf, `",series="`...)
			buf = strconv.AppendInt(buf, int64(i), 10)
			buf = append(buf, `"} `...)
			buf = strconv.AppendInt(buf, (n*7+int64(i))%1000, 10)
			buf = append(buf, '\n')
		}
		if *churn > 0 {
			// Series that appear and disappear: a soak's head-series churn.
			gen := int64(time.Since(start) / *churnEvery)
			buf = append(buf, "# HELP bench_churn A series that lives for one churn period.\n# TYPE bench_churn gauge\n"...)
			for i := range *churn {
				buf = append(buf, `bench_churn{gen="`...)
				buf = strconv.AppendInt(buf, gen, 10)
				buf = append(buf, `",series="`...)
				buf = strconv.AppendInt(buf, int64(i), 10)
				buf = append(buf, `"} `...)
				buf = strconv.AppendInt(buf, n, 10)
				buf = append(buf, '\n')
			}
		}
		_, _ = w.Write(buf)
	})
	srv := &http.Server{Addr: *listen, ReadHeaderTimeout: 5 * time.Second}
	fmt.Println("listening on", *listen)
	log.Fatal(srv.ListenAndServe())
}
