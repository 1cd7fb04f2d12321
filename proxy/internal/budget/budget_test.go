package budget

import (
	"context"
	"testing"
	"time"
)

func TestHoldWaitsForMemory(t *testing.T) {
	b := New(100, time.Second)
	a, c := b.NewHold(), b.NewHold()
	ctx := context.Background()
	if err := a.Resize(ctx, 80); err != nil {
		t.Fatal(err)
	}
	go func() {
		time.Sleep(50 * time.Millisecond)
		a.Resize(ctx, 10)
	}()
	if err := c.Resize(ctx, 90); err != nil {
		t.Fatalf("waiting for freed memory: %v", err)
	}
	if b.Used() != 100 {
		t.Fatalf("used %d, want 100", b.Used())
	}
	a.Close()
	c.Close()
	c.Close()
	if b.Used() != 0 || c.Resize(ctx, 50) != nil || b.Used() != 0 {
		t.Fatalf("closed holds keep %d bytes", b.Used())
	}
}

func TestHoldGivesUp(t *testing.T) {
	b := New(100, 30*time.Millisecond)
	a := b.NewHold()
	ctx := context.Background()
	a.Resize(ctx, 60)
	if err := b.NewHold().Resize(ctx, 50); !IsExhausted(err) {
		t.Fatalf("over the budget: %v", err)
	}
	if err := b.NewHold().Resize(ctx, 101); !IsExhausted(err) {
		t.Fatalf("more than the whole budget: %v", err)
	}
	a.Set(150) // memory in use is counted, whatever the budget
	if b.Used() != 150 {
		t.Fatalf("used %d", b.Used())
	}
	var nilHold *Hold
	if nilHold.Resize(ctx, 1<<40) != nil || (*Budget)(nil).NewHold() != nil {
		t.Fatal("nil holds are unlimited")
	}
}
