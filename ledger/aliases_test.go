package ledger

import (
	"bytes"
	"context"
	"errors"
	"path/filepath"
	"testing"
)

func TestAliases(t *testing.T) {
	bolt, err := OpenBolt(filepath.Join(t.TempDir(), "ledger.db"), BoltOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer bolt.Close()
	for name, s := range map[string]AliasStore{"bolt": bolt, "memory": NewMemory()} {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			key := [32]byte{1, 2, 3}
			if _, ok, err := s.Alias(ctx, key); ok || err != nil {
				t.Fatalf("empty store: ok=%v err=%v", ok, err)
			}
			if err := s.RecordAlias(ctx, key, []byte("first")); err != nil {
				t.Fatal(err)
			}
			if err := s.RecordAlias(ctx, key, []byte("second")); err != nil {
				t.Fatal(err)
			}
			if v, ok, err := s.Alias(ctx, key); !ok || err != nil || !bytes.Equal(v, []byte("first")) {
				t.Fatalf("Alias = %q, %v, %v; want the first value kept", v, ok, err)
			}
			if err := s.RecordAlias(ctx, [32]byte{9}, nil); !errors.Is(err, ErrInvalidEntry) {
				t.Fatalf("empty value: %v, want ErrInvalidEntry", err)
			}
		})
	}
}
