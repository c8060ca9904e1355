package vitess

import (
	"context"
	"crypto/cipher"
	"crypto/des"
	"database/sql"
	"encoding/binary"
	"fmt"
	"sort"
	"sync"
	"time"

	"github.com/go-sql-driver/mysql"
)

// Open connects to a vtgate's MySQL port as the app user.
func Open(addr string) (*sql.DB, error) { return OpenAs(addr, AppUser, AppPassword) }

// OpenAs connects to a vtgate's MySQL port as a user.
func OpenAs(addr, user, password string) (*sql.DB, error) {
	cfg := mysql.NewConfig()
	cfg.User, cfg.Passwd = user, password
	cfg.Net, cfg.Addr, cfg.DBName = "tcp", addr, Keyspace
	cfg.Timeout, cfg.ReadTimeout, cfg.WriteTimeout = 5*time.Second, 5*time.Second, 5*time.Second
	cfg.InterpolateParams = true
	conn, err := mysql.NewConnector(cfg)
	if err != nil {
		return nil, err
	}
	db := sql.OpenDB(conn)
	db.SetMaxOpenConns(4)
	db.SetConnMaxLifetime(time.Minute)
	return db, nil
}

// hashCipher is the hash vindex's cipher: triple DES under an all-zero key.
var hashCipher = func() cipher.Block {
	b, err := des.NewTripleDESCipher(make([]byte, 24))
	if err != nil {
		panic(err)
	}
	return b
}()

// ShardOf is the shard a row of id lands in under the hash vindex: its
// keyspace id is the id, 8 bytes big-endian, encrypted; -80 holds the ids
// whose keyspace id's first byte is below 0x80.
func ShardOf(id int64) string {
	var in, out [8]byte
	binary.BigEndian.PutUint64(in[:], uint64(id))
	hashCipher.Encrypt(out[:], in[:])
	if out[0] < 0x80 {
		return "-80"
	}
	return "80-"
}

// Write is one attempted insert.
type Write struct {
	ID  int64
	At  time.Time
	Err error
}

// Writer inserts rows until stopped, one goroutine per shard (ids the
// hash vindex sends to that shard), so that a shard that is down delays no
// other shard's writes; it records every attempt: the acknowledged ones
// must all be there afterwards.
type Writer struct {
	stop chan struct{}
	wg   sync.WaitGroup

	mu     sync.Mutex
	writes []Write
}

// StartWriter starts inserting rows with ids from first on, one every few
// milliseconds per shard, each bounded by a timeout.
func StartWriter(db *sql.DB, first int64) *Writer {
	w := &Writer{stop: make(chan struct{})}
	for i, shard := range Shards {
		w.wg.Add(1)
		go func() {
			defer w.wg.Done()
			id := first + int64(i)*10_000_000
			for {
				select {
				case <-w.stop:
					return
				default:
				}
				for ShardOf(id) != shard {
					id++
				}
				ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
				_, err := db.ExecContext(ctx, "INSERT INTO t (id, v) VALUES (?, ?)", id, fmt.Sprintf("row %d", id))
				cancel()
				w.mu.Lock()
				w.writes = append(w.writes, Write{ID: id, At: time.Now(), Err: err})
				w.mu.Unlock()
				id++
				if err != nil {
					time.Sleep(100 * time.Millisecond) // the shard is down: do not spin
				} else {
					time.Sleep(5 * time.Millisecond)
				}
			}
		}()
	}
	return w
}

// Stop stops the writer and returns every attempt.
func (w *Writer) Stop() []Write {
	close(w.stop)
	w.wg.Wait()
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.writes
}

// ShardReport is what a load saw of one shard.
type ShardReport struct {
	Shard                   string
	Acknowledged, Failed    int
	Lost                    []int64
	LongestGap              time.Duration
	LongestGapFrom, GapUpTo time.Time
}

// String is the report's line: it says how many writes were acknowledged
// and how many of those are lost.
func (r ShardReport) String() string {
	return fmt.Sprintf("shard %s: %d writes acknowledged, %d lost, %d failed, longest gap between acknowledged writes %s",
		r.Shard, r.Acknowledged, len(r.Lost), r.Failed, r.LongestGap.Round(10*time.Millisecond))
}

// Report checks a load against the rows present (by id) and says, per
// shard, what was acknowledged, lost and failed, and the longest time
// between two acknowledged writes.
func Report(writes []Write, present map[int64]bool) []ShardReport {
	byShard := map[string]*ShardReport{}
	last := map[string]time.Time{}
	for _, s := range Shards {
		byShard[s] = &ShardReport{Shard: s}
	}
	for _, w := range writes {
		r := byShard[ShardOf(w.ID)]
		if w.Err != nil {
			r.Failed++
			continue
		}
		r.Acknowledged++
		if !present[w.ID] {
			r.Lost = append(r.Lost, w.ID)
		}
		if prev, ok := last[r.Shard]; ok && w.At.Sub(prev) > r.LongestGap {
			r.LongestGap, r.LongestGapFrom, r.GapUpTo = w.At.Sub(prev), prev, w.At
		}
		last[r.Shard] = w.At
	}
	out := make([]ShardReport, 0, len(byShard))
	for _, r := range byShard {
		out = append(out, *r)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Shard < out[j].Shard })
	return out
}

// PageSize is how many rows Present reads at once: well under vttablet's
// default limit of 10,000 rows a result, on every shard.
const PageSize = 5000

// Present reads which ids from from on are in the table, a page at a time
// in key order, so that no result grows with the load.
func Present(ctx context.Context, db *sql.DB, from int64) (map[int64]bool, error) {
	out := map[int64]bool{}
	after := from - 1
	for {
		// A page is read again for a minute: vtgate may briefly see no
		// serving primary just after a reparent.
		var n int
		var last int64
		var err error
		for deadline := time.Now().Add(time.Minute); ; time.Sleep(time.Second) {
			n, last, err = page(ctx, db, after, out)
			if err == nil || time.Now().After(deadline) || ctx.Err() != nil {
				break
			}
		}
		if err != nil {
			return nil, fmt.Errorf("read ids after %d: %w", after, err)
		}
		if n < PageSize {
			return out, nil
		}
		after = last
	}
}

// page reads the next PageSize ids above after into present.
func page(ctx context.Context, db *sql.DB, after int64, present map[int64]bool) (n int, last int64, err error) {
	rows, err := db.QueryContext(ctx, "SELECT id FROM t WHERE id > ? ORDER BY id LIMIT ?", after, PageSize)
	if err != nil {
		return 0, 0, err
	}
	defer rows.Close()
	for rows.Next() {
		if err := rows.Scan(&last); err != nil {
			return 0, 0, err
		}
		present[last] = true
		n++
	}
	return n, last, rows.Err()
}
