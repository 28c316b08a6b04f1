//go:build race

package routines

// raceEnabled: QuickJS (translated C) runs some 25 times slower under the
// race detector, so memory tests fill their budget with typed arrays there.
const raceEnabled = true
