//go:build !race

package e2e

// fpRace: see fault_plan_race_test.go.
const fpRace = false
