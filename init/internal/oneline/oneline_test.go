package oneline

import (
	"errors"
	"io"
	"os"
	"testing"
)

func TestJoin(t *testing.T) {
	if err := Join(nil, nil); err != nil {
		t.Errorf("Join(nil, nil) = %v, want nil", err)
	}
	err := Join(io.EOF, nil, errors.Join(os.ErrNotExist, errors.New("b")), errors.New("c"))
	if got, want := err.Error(), "EOF; file does not exist; b; c"; got != want {
		t.Errorf("Join = %q, want %q", got, want)
	}
	if !errors.Is(err, io.EOF) || !errors.Is(err, os.ErrNotExist) {
		t.Errorf("errors.Is does not see the joined errors")
	}
}
