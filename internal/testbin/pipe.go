package testbin

import (
	"context"
	"errors"
	"net"
	"net/http"
	"sync"
)

// PipeListener is a net.Listener whose connections are in-memory pipes
// (net.Pipe). A goroutine blocked reading one is durably blocked in a
// testing/synctest bubble, so the bubble's fake clock moves on while a client
// waits for a server's next byte; on a real socket it would not, and the
// bubble would wait for the machine instead. Tests serve a handler here to
// measure its timing on the fake clock: exact, whatever the machine's load.
type PipeListener struct {
	conns  chan net.Conn
	closed chan struct{}
	once   sync.Once
}

// NewPipeListener returns a listener that accepts the connections its
// DialContext makes.
func NewPipeListener() *PipeListener {
	return &PipeListener{conns: make(chan net.Conn), closed: make(chan struct{})}
}

// DialContext connects to this listener, whatever the address: use it as an
// http.Transport's DialContext.
func (l *PipeListener) DialContext(ctx context.Context, _, _ string) (net.Conn, error) {
	client, server := net.Pipe()
	select {
	case l.conns <- server:
		return client, nil
	case <-l.closed:
		return nil, errors.New("pipe listener closed")
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// Transport is an HTTP transport whose every connection is a pipe to this
// listener. Keep-alives are off, so no idle connection outlives a request
// (a bubble ends only when all its goroutines have).
func (l *PipeListener) Transport() *http.Transport {
	return &http.Transport{DialContext: l.DialContext, DisableKeepAlives: true}
}

// Accept waits for the next DialContext.
func (l *PipeListener) Accept() (net.Conn, error) {
	select {
	case c := <-l.conns:
		return c, nil
	case <-l.closed:
		return nil, net.ErrClosed
	}
}

// Close stops Accept and DialContext; open pipes stay open.
func (l *PipeListener) Close() error {
	l.once.Do(func() { close(l.closed) })
	return nil
}

// Addr names the listener "pipe".
func (*PipeListener) Addr() net.Addr { return pipeAddr{} }

type pipeAddr struct{}

func (pipeAddr) Network() string { return "pipe" }
func (pipeAddr) String() string  { return "pipe" }
