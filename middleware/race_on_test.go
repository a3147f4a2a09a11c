//go:build race

package middleware_test

// raceEnabled: the race detector multiplies the CPU cost of each request,
// so latency bounds in tests are looser under it.
const raceEnabled = true
