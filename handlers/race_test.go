//go:build race

package handlers_test

// raceEnabled: the race detector shadows memory, so resident size says
// little about the heap under it.
const raceEnabled = true
