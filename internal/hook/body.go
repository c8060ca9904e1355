package hook

import (
	"errors"
	"io"
	"sync"
)

// budget is the number of request body bytes the hook calls of a service
// may hold in memory at once. It is taken as a buffer grows and given back
// when the call has been answered: a request's decoded form and its answer
// live as long as its body, and are about its size, so bounding bodies in
// flight bounds the memory of all calls together.
type budget struct {
	mu   sync.Mutex
	free int64
}

func newBudget(n int64) *budget { return &budget{free: n} }

// take takes n bytes, or nothing and false when fewer are free.
func (b *budget) take(n int64) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	if n > b.free {
		return false
	}
	b.free -= n
	return true
}

// give gives back n bytes.
func (b *budget) give(n int64) {
	b.mu.Lock()
	b.free += n
	b.mu.Unlock()
}

// errBusy means the body budget is spent by other calls.
var errBusy = errors.New("too many request bytes in flight")

// firstRead is the most a body buffer starts with: a client that declares
// a large body and sends a small one costs what it sent, not what it
// declared.
const firstRead = 64 << 10

// readBody reads at most limit+1 bytes of a body whose declared length is
// declared (-1 when unknown), growing its buffer as bytes arrive, at most
// doubling each time and never past what was declared. Every byte of the
// buffer's capacity is taken from b; held is what the caller must give back
// once the call is answered, also on error.
func readBody(r io.Reader, declared, limit int64, b *budget) (data []byte, held int64, err error) {
	most := limit + 1
	if declared >= 0 && declared+1 < most {
		most = declared + 1 // one more byte tells a body longer than declared
	}
	size := min(most, firstRead)
	if !b.take(size) {
		return nil, 0, errBusy
	}
	held = size
	buf := make([]byte, 0, size)
	for {
		if len(buf) == cap(buf) {
			if int64(cap(buf)) >= limit+1 {
				return buf, held, nil // over the limit: the caller refuses it
			}
			grow := min(int64(cap(buf))*2, most)
			if int64(cap(buf)) >= most {
				grow = min(int64(cap(buf))+firstRead, limit+1) // more than declared
			}
			if !b.take(grow - int64(cap(buf))) {
				return nil, held, errBusy
			}
			held += grow - int64(cap(buf))
			next := make([]byte, len(buf), grow)
			copy(next, buf)
			buf = next
		}
		n, err := r.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		if err == io.EOF {
			return buf, held, nil
		}
		if err != nil {
			return buf, held, err
		}
	}
}
