package standin

import (
	"sync"
	"time"
)

// VirtualClock is time that passes only when someone sleeps on it: the
// simulated control plane's clock. A stand-in on it waits for its client's
// tokens by moving the clock instead of sleeping, so a simulation measures
// how long Metacontroller's rate limit makes a convergence take, at no cost
// in wall time. The zero value starts at the zero time.
type VirtualClock struct {
	mu  sync.Mutex
	now time.Time
}

// Now returns the clock's time.
func (c *VirtualClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

// Since returns the time passed since t.
func (c *VirtualClock) Since(t time.Time) time.Duration { return c.Now().Sub(t) }

// Sleep moves the clock forward by d.
func (c *VirtualClock) Sleep(d time.Duration) {
	if d <= 0 {
		return
	}
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}
