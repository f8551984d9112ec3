package sso_test

import (
	"errors"
	"fmt"

	"github.com/ssokit/sso"
)

func ExampleNormalizeEmail() {
	email, err := sso.NormalizeEmail("  Olly@Bücher.Example ")
	fmt.Println(email, err)
	_, err = sso.NormalizeEmail("not an email")
	fmt.Println(errors.Is(err, sso.ReasonInvalidEmail))
	// Output:
	// Olly@xn--bcher-kva.example <nil>
	// true
}

func ExampleError() {
	var err error = &sso.Error{Op: "saml.Complete", Reason: sso.ReasonReplayed, Connection: "acme",
		Detail: "assertion ID _abc was used before"}
	err = fmt.Errorf("login failed: %w", err)

	// Every Reason is a sentinel.
	fmt.Println(errors.Is(err, sso.ReasonReplayed))
	// The typed error carries the details for administrators.
	var e *sso.Error
	if errors.As(err, &e) {
		fmt.Println(e.Reason, e.Connection)
	}
	// Users see a message that reveals nothing.
	fmt.Println(sso.ReasonOf(err).UserMessage())
	// Output:
	// true
	// replayed acme
	// Single sign-on failed. Please try again, or contact your administrator if this keeps happening.
}

func ExampleSafeReturnPath() {
	for _, p := range []string{"/reports?year=2026", "//evil.example", "https://evil.example/"} {
		_, ok := sso.SafeReturnPath(p)
		fmt.Println(p, ok)
	}
	// Output:
	// /reports?year=2026 true
	// //evil.example false
	// https://evil.example/ false
}
