package slapdtest

import (
	"testing"
	"time"
)

func TestStart(t *testing.T) {
	t0 := time.Now()
	s := Start(t, Options{})
	t.Logf("started in %v: %s %s", time.Since(t0), s.URL, s.LDAPSURL)
}
