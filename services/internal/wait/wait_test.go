package wait

import (
	"context"
	"testing"
	"time"
)

func TestFor(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	if !For(ctx, 0) || !For(ctx, -time.Second) || !For(ctx, time.Millisecond) {
		t.Errorf("For with a live context: want true")
	}
	time.AfterFunc(10*time.Millisecond, cancel)
	start := time.Now()
	if For(ctx, time.Hour) || time.Since(start) > time.Second {
		t.Errorf("For(1h) canceled after 10ms: want false, at once")
	}
	if For(ctx, 0) {
		t.Errorf("For(0) with a done context: want false")
	}
}
