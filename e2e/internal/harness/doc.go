// Package harness is the test harness of Gatehouse's end-to-end suite. It is
// internal to e2e and meant for tests only:
//
//   - [TCPProxy]: a loopback TCP proxy that can be cut, resumed and slowed,
//     to put a store (Redis, PostgreSQL) or an upstream behind a fault;
//   - [RoundRobin]: a loopback HTTP reverse proxy spreading requests over
//     several backends in turn, as a load balancer in front of several app
//     instances;
//   - [RedisAddr], [PostgresDSN], [ChromiumPath]: the external services a
//     test needs, skipping with a clear message when they are not
//     configured, failing instead when CI=true;
//   - [LogCapture]: an slog.Handler that keeps every record;
//   - [LeakScanner]: plants recognisable secrets and finds them in response
//     bodies, headers, URLs, error strings and log lines;
//   - [GoroutineBaseline]: checks with goleak that a test leaves no
//     goroutine behind.
//
// Every server here listens on 127.0.0.1 with a kernel-chosen port and is
// closed by the test's Cleanup.
package harness
