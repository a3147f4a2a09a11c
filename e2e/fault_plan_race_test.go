//go:build race

package e2e

// fpRace is true when the race detector is on. It multiplies the CPU cost
// of every request several times over, so the plan's latency figures (F1,
// F15, F16), which are about production builds, are asserted only without
// it; under -race the tests measure and log them.
const fpRace = true
