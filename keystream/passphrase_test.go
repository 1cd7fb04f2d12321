package keystream

import (
	"bytes"
	"strings"
	"testing"
)

func TestDefaultArgon2Params(t *testing.T) {
	p, err := DefaultArgon2Params()
	if err != nil {
		t.Fatal(err)
	}
	if p.Time != 3 || p.MemoryKiB != 64*1024 || p.Threads != 4 || len(p.Salt) != 16 {
		t.Errorf("DefaultArgon2Params = t=%d m=%d p=%d salt %d bytes; want RFC 9106's t=3 m=65536 p=4, 16-byte salt",
			p.Time, p.MemoryKiB, p.Threads, len(p.Salt))
	}
	if err := p.validate(); err != nil {
		t.Error(err)
	}
	q, err := DefaultArgon2Params()
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Equal(p.Salt, q.Salt) {
		t.Error("two calls returned the same salt")
	}
}

func TestDeriveKey(t *testing.T) {
	a, err := DeriveKey([]byte("pass"), tinyParams(), ModeExtended)
	if err != nil {
		t.Fatal(err)
	}
	b, err := DeriveKey([]byte("pass"), tinyParams(), ModeExtended)
	if err != nil {
		t.Fatal(err)
	}
	if a.secret.master != b.secret.master || a.ID() != b.ID() {
		t.Fatal("DeriveKey is not deterministic")
	}
	variants := []struct {
		name string
		pass string
		p    func(*Argon2Params)
	}{
		{"passphrase", "pasS", func(*Argon2Params) {}},
		{"salt", "pass", func(p *Argon2Params) { p.Salt[15] ^= 1 }},
		{"time", "pass", func(p *Argon2Params) { p.Time = 2 }},
		{"memory", "pass", func(p *Argon2Params) { p.MemoryKiB = 72 }},
		{"threads", "pass", func(p *Argon2Params) { p.Threads = 2 }},
	}
	for _, v := range variants {
		p := tinyParams()
		v.p(&p)
		k, err := DeriveKey([]byte(v.pass), p, ModeExtended)
		if err != nil {
			t.Fatalf("%s: %v", v.name, err)
		}
		if k.secret.master == a.secret.master {
			t.Errorf("changing the %s does not change the key", v.name)
		}
	}
}

func TestDeriveKeyRejects(t *testing.T) {
	tests := []struct {
		name string
		pass string
		mode Mode
		p    func(*Argon2Params)
		want string
	}{
		{"empty passphrase", "", ModeExtended, func(*Argon2Params) {}, "empty passphrase"},
		{"bad mode", "x", "both", func(*Argon2Params) {}, "invalid mode"},
		{"time 0", "x", ModeExtended, func(p *Argon2Params) { p.Time = 0 }, "time 0"},
		{"time 101", "x", ModeExtended, func(p *Argon2Params) { p.Time = 101 }, "time 101"},
		{"threads 0", "x", ModeExtended, func(p *Argon2Params) { p.Threads = 0 }, "threads"},
		{"memory 7", "x", ModeExtended, func(p *Argon2Params) { p.MemoryKiB = 7 }, "memory 7 KiB"},
		{"memory < 8/lane", "x", ModeExtended, func(p *Argon2Params) { p.Threads = 9 }, "memory 64 KiB"},
		{"memory > 4 GiB", "x", ModeExtended, func(p *Argon2Params) { p.MemoryKiB = 4<<20 + 1 }, "memory"},
		{"nil salt", "x", ModeExtended, func(p *Argon2Params) { p.Salt = nil }, "salt is 0 bytes"},
		{"short salt", "x", ModeExtended, func(p *Argon2Params) { p.Salt = p.Salt[:15] }, "salt is 15 bytes"},
		{"long salt", "x", ModeExtended, func(p *Argon2Params) { p.Salt = make([]byte, 65) }, "salt is 65 bytes"},
	}
	for _, tc := range tests {
		p := tinyParams()
		tc.p(&p)
		_, err := DeriveKey([]byte(tc.pass), p, tc.mode)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: err = %v, want one mentioning %q", tc.name, err, tc.want)
		}
	}
}
