package live

import (
	"bytes"
	"errors"
	"io"
	"net"
	"net/http"
	"slices"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/gobwas/ws"
)

// conn is a client's connection. The hub owns it whole: it writes its
// messages, framed once for every client (see frame), a batch of them in
// one system call, and reads what the client sends (pongs, pings, the
// close handshake) in its sweep, without waiting (see poll). Nothing runs
// for a client between the two: no goroutine, no buffer, no timer.
type conn struct {
	net.Conn
	// raw is for reads and writes that must not wait. The server's
	// connections (TCP, Unix) all have one; without it nothing would be
	// read, and the client would be closed for not answering pings.
	raw syscall.RawConn

	// mu is held by every write, throughout, so frames never interleave:
	// the hub's batches, the rest of one the socket did not take at once
	// (see write), the answers to the client's frames and the close frame.
	mu sync.Mutex
	// closing is set once a close frame is written or due: nothing may
	// follow a close frame.
	closing atomic.Bool

	// in holds the start of a frame the client has not finished sending;
	// only the sweep touches it, and it is nil nearly always.
	in []byte
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
	n, _, err := nowait(c.raw.Write, syscall.Write, b) // full for now: the rest waits
	return n, err
}

// nowait makes one read or write system call on the socket, never waiting
// for it: again reports a socket not ready (full, or with nothing to read).
func nowait(on func(func(fd uintptr) bool) error, call func(fd int, b []byte) (int, error), b []byte) (n int, again bool, err error) {
	var cerr error
	err = on(func(fd uintptr) bool {
		n, cerr = call(int(fd), b)
		return true // one attempt
	})
	if errors.Is(cerr, syscall.EAGAIN) || errors.Is(cerr, syscall.EINTR) {
		return 0, true, err
	}
	return max(n, 0), false, errors.Join(err, cerr)
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

// reply writes a control frame answering the client, after any batch
// being written: at once when the socket takes it, else on a goroutine of
// its own, which is rare (the client pinged while its socket was full).
func (c *conn) reply(f []byte) {
	rest, busy, _ := c.write(f)
	switch {
	case busy:
		go func() {
			c.mu.Lock()
			if c.closing.Load() {
				c.mu.Unlock()
				return
			}
			c.writeRest(f, writeLimit)
		}()
	case rest != nil:
		go c.writeRest(rest, writeLimit)
	}
}

// sendClose writes a close frame of code and reason, after the batch
// being written, and closes the connection's writing end. ok says the
// handshake is under way: the connection stays open until the client
// closes its end too, or until the time returned; otherwise it is closed.
func (c *conn) sendClose(code statusCode, reason string) (until time.Time, ok bool) {
	until = time.Now().Add(writeLimit)
	c.mu.Lock() // a batch being written must end whole
	c.Conn.SetWriteDeadline(until)
	_, err := c.Conn.Write(closeFrame(code, reason))
	c.mu.Unlock()
	if cw, can := c.Conn.(interface{ CloseWrite() error }); can && err == nil {
		err = cw.CloseWrite()
	}
	if err != nil {
		c.Conn.Close()
		return until, false
	}
	return until, true
}

func closeFrame(code statusCode, reason string) []byte {
	return compile(ws.NewCloseFrame(ws.NewCloseFrameBody(code, reason)))
}

// The close codes the hub sends (RFC 6455, 7.4).
type statusCode = ws.StatusCode

const (
	statusNormal        = ws.StatusNormalClosure
	statusGoingAway     = ws.StatusGoingAway
	statusTryAgainLater = statusCode(1013) // a client that fell behind
)

// upgrade answers the handshake and takes the connection over from
// net/http, whose buffers it lets go. It fails when the handshake does,
// once the upgrader has answered.
func upgrade(w http.ResponseWriter, r *http.Request) (*conn, error) {
	nc, rw, _, err := upgrader.Upgrade(r, w)
	if err != nil {
		if nc != nil {
			nc.Close()
		}
		return nil, err
	}
	c := newConn(nc)
	if n := rw.Reader.Buffered(); n > 0 { // frames sent before the answer came
		b, _ := rw.Reader.Peek(n)
		c.in = slices.Clone(b)
	}
	return c, nil
}

// upgrader offers no compression: a snapshot shared by thousands of
// clients would be compressed thousands of times.
var upgrader = ws.HTTPUpgrader{
	Protocol: func(p string) bool { return p == Protocol },
	Timeout:  writeLimit,
}

// polled is what poll found.
type polled int

const (
	stays  polled = iota // nothing, or only pings and pongs
	ponged               // the client answered a ping
	closed               // the client sent a close frame: answer it with code
	gone                 // the connection ended, or cannot be read
)

// poll reads what the client has sent, without waiting for more, and
// takes its frames: a ping is answered, a pong reported, a close frame
// gives the code to answer with (the client's, or 1002 or 1008 when it
// broke the protocol or sent a message, which a dashboard never does).
// scratch is the sweep's buffer.
func (c *conn) poll(scratch []byte) (polled, statusCode, string) {
	if c.raw == nil {
		return stays, 0, ""
	}
	n, again, err := nowait(c.raw.Read, syscall.Read, scratch)
	switch {
	case again:
		return stays, 0, ""
	case err != nil || n == 0: // 0: the client closed its end
		return gone, 0, ""
	}
	b := scratch[:n]
	if c.in != nil {
		b = append(c.in, b...)
		c.in = nil
	}
	result := stays
	for len(b) > 0 {
		r := bytes.NewReader(b)
		h, err := ws.ReadHeader(r)
		if err == nil {
			err = ws.CheckHeader(h, ws.StateServerSide)
		}
		head := len(b) - r.Len()
		switch {
		case errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF):
			c.in = append([]byte(nil), b...) // the rest of the header is to come
			return result, 0, ""
		case err != nil:
			return closed, ws.StatusProtocolError, err.Error()
		case !h.OpCode.IsControl():
			return closed, ws.StatusPolicyViolation, "unexpected data message"
		case int64(len(b)-head) < h.Length:
			c.in = append([]byte(nil), b...) // the rest of the payload is to come
			return result, 0, ""
		}
		payload := b[head : head+int(h.Length)]
		b = b[head+int(h.Length):]
		ws.Cipher(payload, h.Mask, 0)
		switch h.OpCode {
		case ws.OpPing:
			c.reply(compile(ws.NewPongFrame(payload)))
		case ws.OpPong:
			result = ponged
		case ws.OpClose:
			switch len(payload) {
			case 0:
				return closed, statusNormal, ""
			case 1:
				return closed, ws.StatusProtocolError, "invalid close frame"
			}
			code, reason := ws.ParseCloseFrameData(payload)
			if err := ws.CheckCloseFrameData(code, reason); err != nil {
				return closed, ws.StatusProtocolError, "invalid close frame"
			}
			return closed, code, "" // the client's code, echoed
		}
	}
	return result, 0, ""
}

// compile encodes a frame as a server sends it (unmasked).
func compile(f ws.Frame) []byte {
	b, _ := ws.CompileFrame(f) // writes to memory: cannot fail
	return b
}

// frame encodes msg as a WebSocket text message of one frame, so it is
// framed once however many clients get it.
func frame(msg []byte) []byte {
	return compile(ws.NewTextFrame(msg))
}

// pingFrame is a ping with no payload; the sweep takes the pong.
var pingFrame = ws.CompiledPing
