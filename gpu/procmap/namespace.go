package procmap

import (
	"fmt"
	"os"
)

// initialPIDNamespace is the link text of /proc/self/ns/pid in the host's (initial) PID
// namespace: the kernel gives it the fixed inode PROC_PID_INIT_INO (0xEFFFFFFC).
const initialPIDNamespace = "pid:[4026531836]"

// inHostPIDNamespace reports whether tokenpath sees host PIDs, the PIDs NVML reports. In a
// container with its own PID namespace the PIDs under /proc are the container's, and a match
// with NVML's would be a coincidence.
func inHostPIDNamespace() (bool, error) {
	link, err := os.Readlink("/proc/self/ns/pid")
	if err != nil {
		return false, fmt.Errorf("reading tokenpath's PID namespace: %w", err)
	}
	return link == initialPIDNamespace, nil
}
