package syslog

import (
	"context"
	"sync"
)

// Queue is how many messages wait for each collector.
const Queue = 10000

// queue is a bounded FIFO of messages that drops its oldest when full.
// push never blocks; pop waits for a message.
type queue struct {
	mu      sync.Mutex
	msgs    [][]byte // circular: head at first, n messages
	first   int
	n       int
	dropped uint64        // since the last takeDropped
	ready   chan struct{} // has a value while the queue is not empty
}

func newQueue(size int) *queue {
	return &queue{msgs: make([][]byte, max(size, 1)), ready: make(chan struct{}, 1)}
}

// push appends m, dropping the oldest message when the queue is full.
func (q *queue) push(m []byte) {
	q.mu.Lock()
	if q.n == len(q.msgs) {
		q.msgs[q.first] = nil
		q.first = (q.first + 1) % len(q.msgs)
		q.n--
		q.dropped++
	}
	q.msgs[(q.first+q.n)%len(q.msgs)] = m
	q.n++
	q.mu.Unlock()
	select {
	case q.ready <- struct{}{}:
	default:
	}
}

// pop removes and returns the oldest message, waiting until there is one
// or ctx ends (then nil).
func (q *queue) pop(ctx context.Context) []byte {
	for {
		q.mu.Lock()
		if q.n > 0 {
			m := q.msgs[q.first]
			q.msgs[q.first] = nil
			q.first = (q.first + 1) % len(q.msgs)
			q.n--
			more := q.n > 0
			q.mu.Unlock()
			if more {
				select {
				case q.ready <- struct{}{}:
				default:
				}
			}
			return m
		}
		q.mu.Unlock()
		select {
		case <-q.ready:
		case <-ctx.Done():
			return nil
		}
	}
}

// len returns how many messages wait.
func (q *queue) len() int {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.n
}

// takeDropped returns how many messages were dropped since its last call.
func (q *queue) takeDropped() uint64 {
	q.mu.Lock()
	defer q.mu.Unlock()
	n := q.dropped
	q.dropped = 0
	return n
}
