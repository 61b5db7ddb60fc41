package status

import (
	"context"
	"encoding/json"
	"fmt"
)

// FetchProxy GETs path from the proxy's status address on loopback (its
// /metrics, /access.log, /top); an answer other than 200 is an error.
func (s *Server) FetchProxy(ctx context.Context, path string) ([]byte, error) {
	return s.fetch(ctx, path)
}

// Top returns what the proxy saw most in its last minutes, from its /top.
func (s *Server) Top(ctx context.Context) (Top, error) {
	b, err := s.fetch(ctx, "/top")
	if err != nil {
		return Top{}, fmt.Errorf("proxy status unavailable: %w", err)
	}
	var t Top
	if err := json.Unmarshal(b, &t); err != nil {
		return Top{}, fmt.Errorf("proxy's /top: %w (is the proxy older than init?)", err)
	}
	t.Hosts = nonNil(t.Hosts)
	t.Clients = nonNil(t.Clients)
	return t, nil
}
