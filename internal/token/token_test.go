package token

import (
	"errors"
	"strings"
	"testing"
)

func TestRandom(t *testing.T) {
	a, err := Random(nil, 32)
	if err != nil || len(a) != 43 {
		t.Fatalf("Random = %q, %v", a, err)
	}
	if b, _ := Random(nil, 32); a == b {
		t.Fatal("two random tokens are equal")
	}
	if _, err := Random(strings.NewReader("short"), 32); err == nil {
		t.Fatal("a failing random source gave a token")
	}
	if _, err := Random(failing{}, 8); !errors.Is(err, errBroken) {
		t.Fatalf("the source's error is not wrapped: %v", err)
	}
}

func TestMatches(t *testing.T) {
	h := Hash("binding")
	if !Matches(h, "binding") || Matches(h, "binding2") || Matches(h, "") || Matches("", "") || Hash("a") == Hash("b") {
		t.Fatal("Matches")
	}
}

var errBroken = errors.New("broken")

type failing struct{}

func (failing) Read([]byte) (int, error) { return 0, errBroken }
