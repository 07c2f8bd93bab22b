package procmap

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"os"
	"strings"
)

// isLocal reports whether host (an IP address or a name, without port) is this machine:
// loopback, the unspecified address, one of the interfaces' addresses, "localhost", the
// hostname, or a name that resolves to one of those.
func isLocal(ctx context.Context, host string, interfaceAddrs func() ([]net.Addr, error)) (bool, error) {
	if a, err := netip.ParseAddr(host); err == nil {
		return localAddr(a.WithZone("").Unmap(), interfaceAddrs)
	}
	name := strings.TrimSuffix(strings.ToLower(host), ".")
	if name == "localhost" || strings.HasSuffix(name, ".localhost") {
		return true, nil
	}
	if h, err := os.Hostname(); err == nil && strings.EqualFold(h, name) {
		return true, nil
	}
	addrs, err := net.DefaultResolver.LookupNetIP(ctx, "ip", name)
	if err != nil {
		return false, fmt.Errorf("resolving %s: %w", name, err)
	}
	for _, a := range addrs {
		if ok, err := localAddr(a.Unmap(), interfaceAddrs); ok || err != nil {
			return ok, err
		}
	}
	return false, nil
}

func localAddr(a netip.Addr, interfaceAddrs func() ([]net.Addr, error)) (bool, error) {
	if a.IsLoopback() || a.IsUnspecified() {
		return true, nil
	}
	addrs, err := interfaceAddrs()
	if err != nil {
		return false, fmt.Errorf("listing this machine's addresses: %w", err)
	}
	for _, ia := range addrs {
		n, ok := ia.(*net.IPNet)
		if !ok {
			continue
		}
		if ip, ok := netip.AddrFromSlice(n.IP); ok && ip.Unmap() == a {
			return true, nil
		}
	}
	return false, nil
}
