package syslog

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"
)

// TestFollow: old lines skipped, appended ones read (a partial line once
// complete), a rotation followed to the new file, a truncation started
// over.
func TestFollow(t *testing.T) {
	path := filepath.Join(t.TempDir(), "access.log")
	write := func(flag int, s string) {
		f, err := os.OpenFile(path, flag|os.O_WRONLY|os.O_CREATE, 0o644)
		if err != nil {
			t.Fatal(err)
		}
		f.WriteString(s)
		f.Close()
	}
	write(os.O_APPEND, "old\n")
	var mu sync.Mutex
	var got []string
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		Follow(ctx, path, 5*time.Millisecond, func(l string) { mu.Lock(); got = append(got, l); mu.Unlock() })
		close(done)
	}()
	wait := func(want ...string) {
		t.Helper()
		for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(5 * time.Millisecond) {
			mu.Lock()
			ok := slices.Equal(got, want)
			g := slices.Clone(got)
			mu.Unlock()
			if ok {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("followed %q, want %q", g, want)
			}
		}
	}
	time.Sleep(20 * time.Millisecond) // Follow has seen "old" as there at the start
	write(os.O_APPEND, "one\ntw")
	wait("one")
	write(os.O_APPEND, "o\n")
	wait("one", "two")
	if err := os.Rename(path, path+".1"); err != nil {
		t.Fatal(err)
	}
	write(os.O_APPEND, "three\n")
	wait("one", "two", "three")
	write(os.O_TRUNC, "four\n")
	wait("one", "two", "three", "four")
	cancel()
	<-done
}
