package intercept

// A connection's goroutine is a worker that serves connections one after
// another: a new goroutine starts with a small stack and grows it, a copy
// each time it doubles, to what serving a connection needs; a worker keeps
// the grown stack. A connection goes to a worker waiting for one, or to a
// new worker when none waits. At most maxIdleWorkers wait, so a burst's
// goroutines do not outlive it; Shutdown ends the waiting ones.
const maxIdleWorkers = 128

// start serves c on a worker.
func (s *Server) start(c *conn) {
	select {
	case s.next <- c:
	default:
		go s.work(c)
	}
}

// work serves c, then the connections start hands it, while it may wait.
func (s *Server) work(c *conn) {
	for {
		c.serve()
		if s.idleWorkers.Add(1) > maxIdleWorkers {
			s.idleWorkers.Add(-1)
			return
		}
		select {
		case c = <-s.next:
		case <-s.stopWorkers:
			c = nil
		}
		s.idleWorkers.Add(-1)
		if c == nil {
			return
		}
	}
}
