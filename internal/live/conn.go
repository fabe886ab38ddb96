package live

import (
	"bufio"
	"encoding/binary"
	"errors"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// Per-client buffers between the WebSocket library and the socket. The
// library only reads control frames from a dashboard (pongs, a close) and
// only writes control frames (see conn), at most 127 bytes each, so small
// ones do: net/http's 4 KiB reader and writer would otherwise stay with
// every client for as long as it is connected.
const (
	readBuffer  = 256
	writeBuffer = 256 // must hold a whole control frame: see conn
)

// conn is a client's connection under the WebSocket library, which reads
// from it (answering pings, the close handshake) and writes its control
// frames to it. The hub writes its messages itself, framed once for every
// client (see frame), a batch of them in one system call. Every write holds
// mu, so the library's frames and the hub's batches never interleave: the
// library flushes each control frame whole, as one Write, since its buffer
// (writeBuffer) holds the largest.
type conn struct {
	net.Conn
	raw syscall.RawConn // for a write that must not wait; nil when there is none

	// mu is held by every write, throughout: the library's, which may wait
	// for the socket, and the rest of a batch the socket did not take at
	// once (see deliver).
	mu sync.Mutex
	// closing is set when the hub closes the connection, and when the
	// library writes a close frame (answering the client's): nothing may
	// follow a close frame.
	closing atomic.Bool
}

func newConn(nc net.Conn) *conn {
	c := &conn{Conn: nc}
	if sc, ok := nc.(syscall.Conn); ok {
		if raw, err := sc.SyscallConn(); err == nil {
			c.raw = raw
		}
	}
	return c
}

// Write is the library's: it writes one control frame.
func (c *conn) Write(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(p) > 0 && p[0]&0x0F == 0x8 { // the close opcode
		c.closing.Store(true)
	}
	return c.Conn.Write(p)
}

// errClosing refuses a batch after the close frame.
var errClosing = errors.New("live: connection closing")

// write writes b, a batch of frames, without waiting for the socket. When
// it returns rest, the socket did not take all of it: c.mu stays locked
// and the caller must hand rest to writeRest. It fails at once when
// another write is going on (busy: a slow client's), which the caller
// must not wait for.
func (c *conn) write(b []byte) (rest []byte, busy bool, err error) {
	if !c.mu.TryLock() {
		return nil, true, nil
	}
	if c.closing.Load() {
		c.mu.Unlock()
		return nil, false, errClosing
	}
	n, err := c.tryWrite(b)
	if err != nil || n == len(b) {
		c.mu.Unlock()
		return nil, false, err
	}
	return append([]byte(nil), b[n:]...), false, nil
}

// tryWrite writes what the socket takes now, in one system call: a client
// that reads slowly, or is gone, must not hold up the writer, which serves
// every other client too.
func (c *conn) tryWrite(b []byte) (int, error) {
	if c.raw == nil {
		return 0, nil // writeRest writes it all
	}
	var n int
	var werr error
	err := c.raw.Write(func(fd uintptr) bool {
		n, werr = syscall.Write(int(fd), b)
		return true // one attempt: never wait for the socket
	})
	n = max(n, 0)
	if errors.Is(werr, syscall.EAGAIN) || errors.Is(werr, syscall.EINTR) {
		werr = nil // full for now: the rest waits
	}
	return n, errors.Join(err, werr)
}

// writeRest writes what write left, waiting up to limit, and releases
// c.mu, which write left locked. When it fails, it closes the socket: the
// client may have got part of a frame, after which nothing, not even a
// close frame, may be written.
func (c *conn) writeRest(rest []byte, limit time.Duration) error {
	defer c.mu.Unlock()
	c.Conn.SetWriteDeadline(time.Now().Add(limit))
	_, err := c.Conn.Write(rest)
	if err != nil {
		c.Conn.Close()
		return err
	}
	c.Conn.SetWriteDeadline(time.Time{}) // tryWrite fails past a deadline
	return nil
}

// frame encodes msg as a WebSocket text message of one frame, as a server
// sends it (unmasked), so it is framed once however many clients get it.
func frame(msg []byte) []byte {
	n := len(msg)
	f := make([]byte, 0, 10+n)
	f = append(f, 0x81) // FIN, text
	switch {
	case n <= 125:
		f = append(f, byte(n))
	case n <= 0xFFFF:
		f = append(f, 126)
		f = binary.BigEndian.AppendUint16(f, uint16(n))
	default:
		f = append(f, 127)
		f = binary.BigEndian.AppendUint64(f, uint64(n))
	}
	return append(f, msg...)
}

// pingFrame is a ping with no payload; the library's reader takes the pong.
var pingFrame = []byte{0x89, 0x00}

// hijacker lets Serve give the library the connection with small buffers
// (see readBuffer).
type hijacker struct {
	http.ResponseWriter
	conn *conn
}

func (w *hijacker) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	nc, brw, err := http.NewResponseController(w.ResponseWriter).Hijack()
	if err != nil {
		return nil, nil, err
	}
	w.conn = newConn(nc)
	br := brw.Reader
	if br.Buffered() == 0 {
		br = bufio.NewReaderSize(w.conn, readBuffer)
	} // else the client sent frames before the handshake's answer: keep them
	// net/http's writer holds nothing: the answer has gone out.
	return w.conn, bufio.NewReadWriter(br, bufio.NewWriterSize(w.conn, writeBuffer)), nil
}
