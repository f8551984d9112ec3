package main

import (
	"encoding/json"
	"errors"
	"io"

	"github.com/ssokit/sso"
)

// writeJSON prints v as indented JSON.
func writeJSON(w io.Writer, v any) {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	_ = enc.Encode(v)
}

// errorJSON is the shape of a failed check on stdout:
// {"error":{"reason":"..","detail":".."}}.
type errorJSON struct {
	Error struct {
		Reason     string `json:"reason"`
		Detail     string `json:"detail"`
		Connection string `json:"connection,omitempty"`
		Expected   string `json:"expected,omitempty"`
		Actual     string `json:"actual,omitempty"`
	} `json:"error"`
}

// writeError prints err as errorJSON and returns exitFail.
func writeError(w io.Writer, err error) int {
	var out errorJSON
	out.Error.Reason = string(sso.ReasonOf(err))
	var e *sso.Error
	if errors.As(err, &e) {
		out.Error.Detail = e.Error()
		out.Error.Connection = e.Connection
		out.Error.Expected = e.Expected
		out.Error.Actual = e.Actual
	} else {
		out.Error.Detail = err.Error()
	}
	writeJSON(w, out)
	return exitFail
}
