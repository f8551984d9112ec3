package demoapp

import (
	"os"
	"testing"

	"github.com/ssokit/sso/internal/servertest"
)

func TestMain(m *testing.M) {
	code := m.Run()
	servertest.Stop()
	os.Exit(code)
}
