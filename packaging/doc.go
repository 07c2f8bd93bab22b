// Package packaging holds what turns tokenpath into something to install —
// the example configuration, the systemd unit, /etc/default/tokenpath and
// the nfpm description of the Debian package — and the tests that build the
// release archives and the .deb and install them as a user would. It has no
// Go code of its own; see README.md.
package packaging
