package ssotest

import (
	"context"
	"errors"
	"net/url"
	"sync"
	"testing"

	"github.com/ssokit/sso"
)

// Harness drives one connection's identity provider for [TestAuthenticator].
type Harness struct {
	// New returns the Authenticator under test. It is called once per
	// subtest, so state stores and replay caches start empty.
	New func(t *testing.T) sso.Authenticator
	// Respond plays the browser and the identity provider for a redirect
	// protocol: given Begin's step, it logs a user in at the IdP and returns
	// the parameters the browser would bring back to the application
	// (SAMLResponse and RelayState; code, state and iss). It is called from
	// several goroutines at once. Nil for password protocols.
	Respond func(step *sso.Step) (url.Values, error)
	// Email and Password are a valid login for a password protocol (LDAP),
	// and WrongPassword a refused one. Unused for redirect protocols.
	Email         string
	Password      sso.Secret
	WrongPassword sso.Secret
}

// TestAuthenticator checks the contract every [sso.Authenticator] keeps:
// Begin and Complete round-trip the return path and flow data, a completed
// login cannot be completed again, a login started in one browser cannot be
// completed in another, unsafe return paths and empty or garbled returns are
// refused with typed errors, and concurrent logins do not interfere.
func TestAuthenticator(t *testing.T, h Harness) {
	ctx := context.Background()
	password := h.Respond == nil

	complete := func(t *testing.T, a sso.Authenticator, binding string, step *sso.Step) (*sso.Identity, url.Values, error) {
		t.Helper()
		if password {
			id, err := a.Complete(ctx, sso.CompleteRequest{Email: h.Email, Password: h.Password})
			return id, nil, err
		}
		params, err := h.Respond(step)
		if err != nil {
			t.Fatalf("Respond: %v", err)
		}
		id, err := a.Complete(ctx, sso.CompleteRequest{Binding: binding, Params: params})
		return id, params, err
	}

	t.Run("Identity", func(t *testing.T) {
		a := h.New(t)
		if a.ID() == "" {
			t.Error("ID() is empty")
		}
		switch a.Protocol() {
		case sso.ProtocolSAML, sso.ProtocolOIDC, sso.ProtocolLDAP:
		default:
			t.Errorf("Protocol() = %q", a.Protocol())
		}
	})

	t.Run("RoundTrip", func(t *testing.T) {
		a := h.New(t)
		binding := sso.NewBinding()
		step, err := a.Begin(ctx, sso.BeginRequest{Binding: binding, ReturnTo: "/after?x=1", FlowData: map[string]string{"account": "acct-1"}})
		if err != nil {
			t.Fatalf("Begin: %v", err)
		}
		if password {
			if step.Kind != sso.StepPasswordPrompt {
				t.Fatalf("Begin kind = %v; want password_prompt", step.Kind)
			}
		} else {
			if step.Kind != sso.StepRedirect && step.Kind != sso.StepPostForm {
				t.Fatalf("Begin kind = %v; want redirect or post_form", step.Kind)
			}
			if step.URL == "" || step.Expires.IsZero() {
				t.Fatalf("Begin step URL %q, expires %v", step.URL, step.Expires)
			}
		}
		id, _, err := complete(t, a, binding, step)
		if err != nil {
			t.Fatalf("Complete: %v", err)
		}
		if id.Connection != a.ID() || id.Protocol != a.Protocol() || id.Subject == "" {
			t.Fatalf("identity = %+v; want connection %q, protocol %q, a subject", id, a.ID(), a.Protocol())
		}
		if !password {
			if id.ReturnTo != "/after?x=1" || id.FlowData["account"] != "acct-1" {
				t.Errorf("ReturnTo %q, FlowData %v not carried through the flow", id.ReturnTo, id.FlowData)
			}
		}
	})

	t.Run("UnsafeReturnTo", func(t *testing.T) {
		a := h.New(t)
		for _, rt := range []string{"https://evil.example/", "//evil.example"} {
			if _, err := a.Begin(ctx, sso.BeginRequest{Binding: sso.NewBinding(), ReturnTo: rt}); !isTyped(err) {
				t.Errorf("Begin(ReturnTo %q) err = %v; want a typed *sso.Error", rt, err)
			}
		}
	})

	if password {
		t.Run("WrongPassword", func(t *testing.T) {
			a := h.New(t)
			_, err := a.Complete(ctx, sso.CompleteRequest{Email: h.Email, Password: h.WrongPassword})
			if !errors.Is(err, sso.ReasonInvalidCredentials) {
				t.Fatalf("wrong password err = %v; want %s", err, sso.ReasonInvalidCredentials)
			}
		})
		t.Run("EmptyPassword", func(t *testing.T) {
			a := h.New(t)
			_, err := a.Complete(ctx, sso.CompleteRequest{Email: h.Email})
			if !errors.Is(err, sso.ReasonPasswordEmpty) {
				t.Fatalf("empty password err = %v; want %s", err, sso.ReasonPasswordEmpty)
			}
		})
		return
	}

	t.Run("NoReplay", func(t *testing.T) {
		a := h.New(t)
		binding := sso.NewBinding()
		step, err := a.Begin(ctx, sso.BeginRequest{Binding: binding})
		if err != nil {
			t.Fatal(err)
		}
		_, params, err := complete(t, a, binding, step)
		if err != nil {
			t.Fatalf("first Complete: %v", err)
		}
		_, err = a.Complete(ctx, sso.CompleteRequest{Binding: binding, Params: params})
		if err == nil || !isTyped(err) {
			t.Fatalf("second Complete with the same return err = %v; want a typed refusal", err)
		}
	})

	t.Run("OtherBrowser", func(t *testing.T) {
		a := h.New(t)
		step, err := a.Begin(ctx, sso.BeginRequest{Binding: sso.NewBinding()})
		if err != nil {
			t.Fatal(err)
		}
		params, err := h.Respond(step)
		if err != nil {
			t.Fatalf("Respond: %v", err)
		}
		_, err = a.Complete(ctx, sso.CompleteRequest{Binding: sso.NewBinding(), Params: params})
		if !errors.Is(err, sso.ReasonStateMismatch) {
			t.Fatalf("Complete from another browser err = %v; want %s", err, sso.ReasonStateMismatch)
		}
	})

	t.Run("EmptyReturn", func(t *testing.T) {
		a := h.New(t)
		for _, p := range []url.Values{nil, {"junk": {"x"}}} {
			if _, err := a.Complete(ctx, sso.CompleteRequest{Binding: sso.NewBinding(), Params: p}); err == nil || !isTyped(err) {
				t.Errorf("Complete(%v) err = %v; want a typed refusal", p, err)
			}
		}
	})

	t.Run("Concurrent", func(t *testing.T) {
		a := h.New(t)
		const n = 8
		var wg sync.WaitGroup
		errs := make(chan error, n)
		for i := 0; i < n; i++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				binding := sso.NewBinding()
				step, err := a.Begin(ctx, sso.BeginRequest{Binding: binding, ReturnTo: "/c"})
				if err != nil {
					errs <- err
					return
				}
				params, err := h.Respond(step)
				if err != nil {
					errs <- err
					return
				}
				id, err := a.Complete(ctx, sso.CompleteRequest{Binding: binding, Params: params})
				if err == nil && id.ReturnTo != "/c" {
					err = errors.New("return path lost")
				}
				if err != nil {
					errs <- err
				}
			}()
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Errorf("concurrent login: %v", err)
		}
	})
}

func isTyped(err error) bool {
	var e *sso.Error
	return errors.As(err, &e) && e.Reason != ""
}
