package config

import (
	"errors"
	"fmt"
	"os"

	promconfig "github.com/prometheus/prometheus/config"
	"github.com/prometheus/prometheus/model/labels"
)

// HostLabel is the external label naming the tokenpath (the box) a series
// came from. Remote write, federation and alerts carry it, so a central
// engine holding many tokenpaths' series keeps every host apart, and the
// embedded rules group by it.
const HostLabel = "host"

// setHostLabel adds the external label host, the machine's hostname, unless
// the configuration's global.external_labels already sets it (to another
// name, e.g. one that is stable across reinstalls).
func setHostLabel(cfg *promconfig.Config, hostname func() (string, error)) error {
	if cfg.GlobalConfig.ExternalLabels.Has(HostLabel) {
		return nil
	}
	if hostname == nil {
		hostname = os.Hostname
	}
	name, err := hostname()
	if err == nil && name == "" {
		err = errors.New("the hostname is empty")
	}
	if err != nil {
		return fmt.Errorf("the external label %q defaults to the machine's hostname, which is unknown (%w): set global.external_labels.%s in the configuration file", HostLabel, err, HostLabel)
	}
	b := labels.NewBuilder(cfg.GlobalConfig.ExternalLabels)
	b.Set(HostLabel, name)
	cfg.GlobalConfig.ExternalLabels = b.Labels()
	return nil
}
