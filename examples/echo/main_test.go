package main

import (
	"testing"

	"github.com/gatehouse-auth/gatehouse/examples/internal/exampletest"
)

// TestRun runs the command with a fake Wazo on a free port (banner, login
// form, clean stop) and with an unknown provider (an error).
func TestRun(t *testing.T) { exampletest.TestCommand(t, run) }
