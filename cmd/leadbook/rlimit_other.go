//go:build !unix

package main

import "errors"

func raiseFileLimit() (uint64, error) {
	return 0, errors.New("no file limit to raise on this system")
}
