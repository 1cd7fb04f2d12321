package session

import (
	"sync"
	"testing"
	"time"
)

// clock is a settable time.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }

func (c *clock) add(d time.Duration) { c.mu.Lock(); c.t = c.t.Add(d); c.mu.Unlock() }

func TestTable(t *testing.T) {
	type step struct {
		op   string // add, acquire (want found), miss (want not found), remove, tick
		key  string
		tick time.Duration
		len  int // sessions after the step
	}
	for _, tc := range []struct {
		name    string
		steps   []step
		evicted int
	}{
		{"add and find", []step{{"add", "a", 0, 1}, {"acquire", "a", 0, 1}, {"miss", "b", 0, 1}}, 0},
		{"replace", []step{{"add", "a", 0, 1}, {"add", "a", 0, 1}, {"acquire", "a", 0, 1}}, 0},
		{"remove", []step{{"add", "a", 0, 1}, {"remove", "a", 0, 0}, {"miss", "a", 0, 0}}, 0},
		{"expire after ttl", []step{{"add", "a", 0, 1}, {"tick", "", time.Hour, 1}, {"tick", "", time.Second, 0}, {"miss", "a", 0, 0}}, 0},
		{"use keeps alive", []step{{"add", "a", 0, 1}, {"tick", "", 50 * time.Minute, 1}, {"acquire", "a", 0, 1}, {"tick", "", 50 * time.Minute, 1}, {"acquire", "a", 0, 1}}, 0},
		{"evict least recently used", []step{
			{"add", "a", 0, 1}, {"tick", "", time.Second, 1}, {"add", "b", 0, 2}, {"tick", "", time.Second, 2},
			{"acquire", "a", 0, 2}, {"add", "c", 0, 2}, {"miss", "b", 0, 2}, {"acquire", "a", 0, 2}, {"acquire", "c", 0, 2},
		}, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := &clock{t: time.Unix(1e9, 0)}
			evicted := 0
			tbl := NewTable(2, time.Hour, c.now, func() { evicted++ })
			for i, s := range tc.steps {
				switch s.op {
				case "add":
					tbl.Add(s.key, s.key)
				case "acquire":
					sess := tbl.Acquire(s.key)
					if sess == nil || sess.State != s.key || sess.Key() != s.key {
						t.Fatalf("step %d: acquire %q: %v", i, s.key, sess)
					}
					tbl.Release(sess)
				case "miss":
					if sess := tbl.Acquire(s.key); sess != nil {
						t.Fatalf("step %d: %q still there", i, s.key)
					}
				case "remove":
					tbl.Remove(s.key, nil)
				case "tick":
					c.add(s.tick)
				}
				if n := tbl.Len(); n != s.len {
					t.Fatalf("step %d (%s %q): %d sessions, want %d", i, s.op, s.key, n, s.len)
				}
			}
			if evicted != tc.evicted {
				t.Fatalf("%d evictions, want %d", evicted, tc.evicted)
			}
		})
	}
}

// TestTableEvictsIdleFirst: a session in a request is evicted only when
// every session is.
func TestTableEvictsIdleFirst(t *testing.T) {
	c := &clock{t: time.Unix(1e9, 0)}
	tbl := NewTable(2, time.Hour, c.now, nil)
	tbl.Add("old", 1)
	c.add(time.Second)
	tbl.Add("new", 2)
	busy := tbl.Acquire("old") // oldest, but in a request
	tbl.Add("third", 3)
	if s := tbl.Acquire("new"); s != nil {
		t.Fatal("the idle session was kept and the busy one dropped")
	}
	tbl.Release(busy)
	if s := tbl.Acquire("old"); s == nil {
		t.Fatal("the busy session was dropped")
	} else {
		tbl.Release(s)
	}
}

// TestTableRemoveOnlyThatSession: Remove with a session leaves a newer one
// under the same key.
func TestTableRemoveOnlyThatSession(t *testing.T) {
	tbl := NewTable(4, time.Hour, nil, nil)
	tbl.Add("k", 1)
	old := tbl.Acquire("k")
	tbl.Release(old)
	tbl.Add("k", 2)
	tbl.Remove("k", old)
	s := tbl.Acquire("k")
	if s == nil || s.State != 2 {
		t.Fatalf("the newer session was removed: %v", s)
	}
	tbl.Release(s)
}

func TestTableConcurrent(t *testing.T) {
	tbl := NewTable(8, time.Hour, nil, nil)
	var wg sync.WaitGroup
	for i := range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			key := string(rune('a' + i%10))
			for range 200 {
				tbl.Add(key, i)
				if s := tbl.Acquire(key); s != nil {
					tbl.Release(s)
				}
				tbl.Remove(key, nil)
			}
		}()
	}
	wg.Wait()
	if n := tbl.Len(); n != 0 {
		t.Fatalf("%d sessions left", n)
	}
}

// released counts the Release calls of a session state.
type released struct{ n *int }

func (r released) Release() { *r.n++ }

// TestTableReleasesDroppedSessions: a session dropped in any way (removed,
// replaced, evicted, expired) gives its memory back.
func TestTableReleasesDroppedSessions(t *testing.T) {
	c := &clock{t: time.Unix(1e9, 0)}
	tbl := NewTable(2, time.Hour, c.now, nil)
	n := 0
	tbl.Add("a", released{&n})
	tbl.Remove("a", nil)
	tbl.Add("b", released{&n})
	tbl.Add("b", released{&n}) // replaces
	tbl.Add("c", released{&n})
	c.add(time.Second)
	tbl.Add("d", released{&n}) // evicts b
	c.add(2 * time.Hour)
	tbl.Len() // expires c and d
	if n != 5 {
		t.Fatalf("%d of 5 dropped sessions released", n)
	}
}
