package procmap

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// procSnapshot is one walk of /proc: which processes hold the sockets listening on the
// wanted TCP ports, and every process's parent.
type procSnapshot struct {
	root string
	// listeners maps a port to the PIDs holding a socket that listens on it.
	listeners map[uint16][]int
	// children maps a PID to its child processes (from the ppid of /proc/PID/stat).
	children map[int][]int
	// fdDenied counts the processes whose file descriptors could not be read (another
	// user's processes without CAP_SYS_PTRACE): a listener among them stays invisible.
	fdDenied int
}

// tcpListen is the st column of /proc/net/tcp for a listening socket (TCP_LISTEN).
const tcpListen = "0A"

// readProc walks root (normally /proc) for the sockets that listen on ports and the whole
// process tree. /proc/net/tcp{,6} list the sockets of tokenpath's own network namespace only.
func readProc(root string, ports map[uint16]bool) (*procSnapshot, error) {
	inodes := map[uint64]uint16{} // listening socket inode → port
	for _, name := range []string{"tcp", "tcp6"} {
		p := filepath.Join(root, "net", name)
		err := listeningInodes(p, ports, inodes)
		if errors.Is(err, fs.ErrNotExist) && name == "tcp6" {
			continue // IPv6 disabled
		}
		if err != nil {
			return nil, err
		}
	}
	snap := &procSnapshot{root: root, listeners: map[uint16][]int{}, children: map[int][]int{}}
	entries, err := os.ReadDir(root)
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", root, err)
	}
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || pid <= 0 {
			continue
		}
		dir := filepath.Join(root, e.Name())
		if ppid, ok := parentPID(filepath.Join(dir, "stat")); ok {
			snap.children[ppid] = append(snap.children[ppid], pid)
		}
		if len(inodes) == 0 {
			continue
		}
		found, err := socketInodes(filepath.Join(dir, "fd"), inodes)
		if errors.Is(err, fs.ErrPermission) {
			snap.fdDenied++
		}
		for _, port := range found {
			if ls := snap.listeners[port]; len(ls) == 0 || ls[len(ls)-1] != pid {
				snap.listeners[port] = append(ls, pid)
			}
		}
	}
	return snap, nil
}

// listeningInodes adds to out the inode of every socket in a /proc/net/tcp-format file that
// listens on one of ports.
func listeningInodes(path string, ports map[uint16]bool, out map[uint64]uint16) error {
	data, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("reading %s: %w", path, err)
	}
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Scan() // header
	for sc.Scan() {
		// sl local_address rem_address st tx_queue:rx_queue tr:tm->when retrnsmt uid timeout inode
		f := strings.Fields(sc.Text())
		if len(f) < 10 || f[3] != tcpListen {
			continue
		}
		i := strings.LastIndexByte(f[1], ':')
		if i < 0 {
			continue
		}
		port, err := strconv.ParseUint(f[1][i+1:], 16, 16)
		if err != nil || !ports[uint16(port)] {
			continue
		}
		inode, err := strconv.ParseUint(f[9], 10, 64)
		if err != nil || inode == 0 {
			continue
		}
		out[inode] = uint16(port)
	}
	return sc.Err()
}

// socketInodes returns the ports of the wanted sockets among the descriptors in fdDir.
func socketInodes(fdDir string, wanted map[uint64]uint16) ([]uint16, error) {
	fds, err := os.ReadDir(fdDir)
	if err != nil {
		return nil, err
	}
	var out []uint16
	for _, fd := range fds {
		link, err := os.Readlink(filepath.Join(fdDir, fd.Name()))
		if err != nil || !strings.HasPrefix(link, "socket:[") {
			continue
		}
		inode, err := strconv.ParseUint(strings.TrimSuffix(strings.TrimPrefix(link, "socket:["), "]"), 10, 64)
		if err != nil {
			continue
		}
		if port, ok := wanted[inode]; ok {
			out = append(out, port)
		}
	}
	return out, nil
}

// parentPID reads the ppid field of /proc/PID/stat. The command name (field 2) is in
// parentheses and may itself hold spaces and parentheses, so fields count from the last ')'.
func parentPID(statPath string) (int, bool) {
	data, err := os.ReadFile(statPath)
	if err != nil {
		return 0, false // the process has exited since the directory was listed
	}
	i := bytes.LastIndexByte(data, ')')
	if i < 0 {
		return 0, false
	}
	f := strings.Fields(string(data[i+1:])) // state ppid pgrp …
	if len(f) < 2 {
		return 0, false
	}
	ppid, err := strconv.Atoi(f[1])
	return ppid, err == nil
}

// portProxies are the command names of processes that hold a published port on behalf of a
// server in another network namespace (Docker's userland proxy): the server is not among
// their descendants.
var portProxies = map[string]bool{"docker-proxy": true}

// allProxies reports whether every listener in pids is a port proxy.
func (s *procSnapshot) allProxies(pids []int) bool {
	for _, pid := range pids {
		comm, err := os.ReadFile(filepath.Join(s.root, strconv.Itoa(pid), "comm"))
		if err != nil || !portProxies[strings.TrimSpace(string(comm))] {
			return false
		}
	}
	return len(pids) > 0
}

// tree returns roots and all their descendants.
func (s *procSnapshot) tree(roots []int) map[int]bool {
	out := map[int]bool{}
	queue := append([]int(nil), roots...)
	for len(queue) > 0 {
		pid := queue[0]
		queue = queue[1:]
		if out[pid] {
			continue
		}
		out[pid] = true
		queue = append(queue, s.children[pid]...)
	}
	return out
}
