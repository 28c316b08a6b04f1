//go:build !race

package routines

const raceEnabled = false
