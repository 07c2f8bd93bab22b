package scrape

import (
	"context"

	"github.com/prometheus/prometheus/discovery/targetgroup"
)

// announceKinds passes target sets from in to the scrape manager unchanged
// and calls onKind, once per server kind for the life of the Manager, the
// first time a target of that kind (detected or labelled in the
// configuration) is handed over to be scraped. Whoever needs to know which
// kinds are really scraped — the SLO bucket warnings — learns it here.
func announceKinds(ctx context.Context, in <-chan map[string][]*targetgroup.Group, onKind func(string)) <-chan map[string][]*targetgroup.Group {
	if onKind == nil {
		return in
	}
	out := make(chan map[string][]*targetgroup.Group)
	seen := map[string]bool{}
	go func() {
		for {
			var tsets map[string][]*targetgroup.Group
			select {
			case <-ctx.Done():
				return
			case tsets = <-in:
			}
			for _, kind := range newKinds(tsets, seen) {
				onKind(kind)
			}
			select {
			case <-ctx.Done():
				return
			case out <- tsets:
			}
		}
	}()
	return out
}

// newKinds lists the server kinds of tsets not in seen, in order of
// appearance, and adds them to seen.
func newKinds(tsets map[string][]*targetgroup.Group, seen map[string]bool) []string {
	var kinds []string
	for _, groups := range tsets {
		for _, g := range groups {
			if g == nil {
				continue
			}
			for _, t := range g.Targets {
				kind := t[ServerLabel]
				if kind == "" {
					kind = g.Labels[ServerLabel]
				}
				if k := string(kind); k != "" && !seen[k] {
					seen[k] = true
					kinds = append(kinds, k)
				}
			}
		}
	}
	return kinds
}
