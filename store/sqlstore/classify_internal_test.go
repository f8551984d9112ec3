package sqlstore

import (
	"context"
	"errors"
	"fmt"
	"io"
	"testing"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/ssokit/sso"
)

// TestClassifyUnreachable: the ways a database that went away shows
// through pgx are sso.ReasonUnavailable (try again later), not
// sso.ReasonInternal.
func TestClassifyUnreachable(t *testing.T) {
	for _, err := range []error{
		pgconn.ErrConnClosed,
		fmt.Errorf("begin: %w", pgconn.ErrConnClosed),
		&pgconn.ConnectError{},
		context.DeadlineExceeded,
		io.ErrUnexpectedEOF,
	} {
		if r := sso.ReasonOf(dbError("op", "do it", err)); r != sso.ReasonUnavailable {
			t.Errorf("%v: reason %q; want unavailable", err, r)
		}
	}
	if r := sso.ReasonOf(dbError("op", "do it", errors.New("syntax error"))); r != sso.ReasonInternal {
		t.Errorf("another error: reason %q; want internal", r)
	}
}
