// Package kubernetes holds tokenpath's plain Kubernetes manifests (the YAML
// files beside this one) and the test that decodes them strictly into the
// Kubernetes API types and runs the binary with the DaemonSet's arguments.
// It has no Go code of its own; see README.md.
package kubernetes
