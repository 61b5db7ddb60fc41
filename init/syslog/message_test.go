package syslog

import (
	"context"
	"fmt"
	"testing"
	"time"
)

func TestFormat(t *testing.T) {
	tm := time.Date(2026, 11, 25, 22, 0, 0, 123456789, time.FixedZone("CET", 3600))
	got := string(Format("gw.lan", "proxy", tm, "listening on :3129"))
	if want := "<30>1 2026-11-25T21:00:00.123456Z gw.lan proxy - - - listening on :3129"; got != want {
		t.Errorf("Format =\n%s\nwant\n%s", got, want)
	}
	if got := string(Format("", "a b", tm, "x")); got != "<30>1 2026-11-25T21:00:00.123456Z - a?b - - - x" {
		t.Errorf("Format with an empty host and a space in the app name: %s", got)
	}
}

func TestAppName(t *testing.T) {
	for _, tt := range []struct{ src, line, want string }{
		{"proxy", "1764100000.123     12 192.0.2.2 TCP_MISS/200 1534 GET http://198.51.100.2/ - ORIGINAL_DST/198.51.100.2 text/html", "access"},
		{"proxy", "listening on :3129", "proxy"},
		{"proxy", "1764100000 is not an access line", "proxy"},
		{"init", "1764100000.123     12 192.0.2.2", "init"},
	} {
		if got := AppName(tt.src, tt.line); got != tt.want {
			t.Errorf("AppName(%q, %q) = %q, want %q", tt.src, tt.line, got, tt.want)
		}
	}
}

// TestQueue: the oldest messages are dropped and counted once the queue
// is full; the rest come out in order.
func TestQueue(t *testing.T) {
	q := newQueue(3)
	for i := range 5 {
		q.push([]byte(fmt.Sprint(i)))
	}
	if n := q.takeDropped(); n != 2 {
		t.Errorf("dropped %d, want 2", n)
	}
	for _, want := range []string{"2", "3", "4"} {
		if got := string(q.pop(context.Background())); got != want {
			t.Errorf("pop = %q, want %q", got, want)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Millisecond)
	defer cancel()
	if m := q.pop(ctx); m != nil || q.takeDropped() != 0 {
		t.Errorf("pop of an empty queue = %q", m)
	}
}

func TestTruncate(t *testing.T) {
	if got := string(truncate([]byte("aé"), 2)); got != "a" {
		t.Errorf("truncate inside é = %q", got)
	}
}

func TestAccessTime(t *testing.T) {
	if got := accessTime("1764100000.123     12 192.0.2.2 TCP_MISS/200"); !got.Equal(time.Unix(1764100000, 123e6)) {
		t.Errorf("accessTime = %v", got)
	}
}
