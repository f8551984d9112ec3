package flowstate_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/ssokit/sso"
	"github.com/ssokit/sso/internal/flowstate"
)

func TestTake(t *testing.T) {
	ctx := context.Background()
	now := time.Unix(1_700_000_000, 0)
	store := sso.NewMemoryStateStore(sso.MemoryOptions{Now: func() time.Time { return now }})
	binding := sso.NewBinding()
	flows := flowstate.Of(nil, store, binding)
	tests := []struct {
		name, id, conn string
		at             time.Time
		want           sso.Reason
	}{
		{"ok", "f1", "acme", now, ""},
		{"empty handle", "", "acme", now, sso.ReasonStateMissing},
		{"unknown handle", "nope", "acme", now, sso.ReasonStateMissing},
		{"another connection", "f2", "other", now, sso.ReasonStateMismatch},
		{"expired", "f3", "acme", now.Add(11 * time.Minute), sso.ReasonStateMissing},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if tc.id != "" && tc.id != "nope" {
				if err := flows.Save(ctx, &sso.Flow{ID: tc.id, Connection: "acme", Expires: now.Add(10 * time.Minute)}); err != nil {
					t.Fatal(err)
				}
			}
			f, err := flowstate.Take(ctx, flows, tc.id, tc.conn, tc.at)
			if tc.want == "" {
				if err != nil || f.ID != tc.id {
					t.Fatalf("Take = %+v, %v", f, err)
				}
				return
			}
			if !errors.Is(err, tc.want) {
				t.Fatalf("Take = %v; want %s", err, tc.want)
			}
			if e := (*sso.Error)(nil); errors.As(err, &e) && e.Connection != tc.conn {
				t.Errorf("error names connection %q; want %q", e.Connection, tc.conn)
			}
		})
	}
	// Given Flows win over the store.
	own := flowstate.Of(sso.StoreFlows(sso.NewMemoryStateStore(sso.MemoryOptions{}), "x"), store, binding)
	if own == flows {
		t.Fatal("Of ignored the given Flows")
	}
}

func TestReplayFailure(t *testing.T) {
	for err, want := range map[error]sso.Reason{
		&sso.Error{Reason: sso.ReasonStoreFull}:    sso.ReasonStoreFull,
		&sso.Error{Reason: sso.ReasonUnavailable}:  sso.ReasonUnavailable,
		&sso.Error{Reason: sso.ReasonStateMissing}: sso.ReasonInternal,
		errors.New("boom"):                         sso.ReasonInternal,
	} {
		if got := flowstate.ReplayFailure(err); got != want {
			t.Errorf("ReplayFailure(%v) = %s; want %s", err, got, want)
		}
	}
}
