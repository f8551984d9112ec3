package browser

import (
	"log/slog"
	"testing"
)

// StartApp starts an example application on a free port with its log
// discarded, as its start function does it, and closes it when the test
// ends.
func StartApp[A interface{ Close() }](t testing.TB, start func(addr string, logger *slog.Logger) (A, error)) A {
	t.Helper()
	a, err := start("localhost:0", slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(a.Close)
	return a
}
