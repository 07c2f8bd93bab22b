package scrape

import (
	"context"
	"testing"
	"time"

	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/discovery/targetgroup"
	"github.com/stretchr/testify/require"
)

// TestAnnounceKinds: each server kind is announced once, the first time a
// target of that kind passes, whether detection or the configuration named
// it; the target sets pass on unchanged.
func TestAnnounceKinds(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	in := make(chan map[string][]*targetgroup.Group)
	var announced []string
	out := announceKinds(ctx, in, func(k string) { announced = append(announced, k) })

	target := func(addr, server string) model.LabelSet {
		ls := model.LabelSet{model.AddressLabel: model.LabelValue(addr)}
		if server != "" {
			ls[ServerLabel] = model.LabelValue(server)
		}
		return ls
	}
	sets := []map[string][]*targetgroup.Group{
		// Not detected yet: nothing to announce.
		{"vllm": {{Source: "0", Targets: []model.LabelSet{target("a:1", "")}}}},
		{"vllm": {{Source: "0", Targets: []model.LabelSet{target("a:1", ServerVLLM), target("b:1", ServerVLLM)}}}},
		// A server label on the group, as a configuration sets it.
		{"vllm": {{Source: "0", Targets: []model.LabelSet{target("a:1", ServerVLLM)}}}, "mine": {nil, {Source: "1", Labels: model.LabelSet{ServerLabel: ServerSGLang}, Targets: []model.LabelSet{target("c:1", "")}}}},
		// Seen before: nothing new.
		{"vllm": {{Source: "0", Targets: []model.LabelSet{target("a:1", ServerVLLM)}}}, "sglang": {{Source: "0", Targets: []model.LabelSet{target("d:1", ServerSGLang)}}}},
	}
	for i, s := range sets {
		select {
		case in <- s:
		case <-time.After(10 * time.Second):
			t.Fatalf("set %d not taken", i)
		}
		select {
		case got := <-out:
			require.Equal(t, s, got, "set %d passes on unchanged", i)
		case <-time.After(10 * time.Second):
			t.Fatalf("set %d not passed on", i)
		}
	}
	require.Equal(t, []string{ServerVLLM, ServerSGLang}, announced)
}

func TestAnnounceKindsWithoutCallback(t *testing.T) {
	in := make(chan map[string][]*targetgroup.Group)
	var want <-chan map[string][]*targetgroup.Group = in
	require.Equal(t, want, announceKinds(context.Background(), in, nil))
}
