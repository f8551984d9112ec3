package saml

import (
	"bytes"
	"compress/flate"
	"io"
	"math/rand/v2"
	"testing"
)

// TestDeflateStored: the stored-block DEFLATE stream of the HTTP-Redirect
// binding inflates to the message, across block boundaries.
func TestDeflateStored(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for _, n := range []int{0, 1, 600, 1<<16 - 2, 1<<16 - 1, 1 << 16, 3<<16 + 7} {
		msg := make([]byte, n)
		for i := range msg {
			msg[i] = byte(r.Uint32())
		}
		out, err := io.ReadAll(flate.NewReader(bytes.NewReader(deflateStored(msg))))
		if err != nil || !bytes.Equal(out, msg) {
			t.Fatalf("%d bytes: inflated %d bytes, %v", n, len(out), err)
		}
	}
}
