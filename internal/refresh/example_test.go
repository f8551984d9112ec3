package refresh_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/ssokit/sso/internal/refresh"
)

// Keep a fetched list of signing keys fresh, refusing a refresh that would
// drop every key in use.
func ExampleNew() {
	versions := []string{"key-A", "key-B", "key-A key-B"}
	fetches := 0
	src, err := refresh.New(context.Background(), refresh.Config[string]{
		Fetch: func(ctx context.Context) (string, time.Time, error) {
			v := versions[fetches]
			fetches++
			// Ask to be refreshed in six hours, e.g. from cacheDuration.
			return v, time.Now().Add(6 * time.Hour), nil
		},
		Accept: func(old, new string) error {
			for _, k := range strings.Fields(old) {
				if strings.Contains(new, k) {
					return nil
				}
			}
			return errors.New("no current key left")
		},
		OnEvent: func(ev refresh.Event) {
			fmt.Println("event:", ev.Kind, ev.Err)
		},
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer src.Close()
	fmt.Println(src.Current())

	err = src.Refresh(context.Background())
	fmt.Println(errors.Is(err, refresh.ErrHeldBack), src.Current())

	err = src.Refresh(context.Background())
	fmt.Println(err, src.Current())
	// Output:
	// key-A
	// event: held_back refresh: new value held back: no current key left
	// true key-A
	// event: refreshed <nil>
	// <nil> key-A key-B
}
