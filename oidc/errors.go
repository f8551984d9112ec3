package oidc

import (
	"fmt"
	"strconv"
	"strings"
)

func sprintf(format string, args ...any) string { return fmt.Sprintf(format, args...) }

func quote(s string) string {
	if len(s) > 200 {
		s = s[:200] + "…"
	}
	return strconv.Quote(s)
}

func itoa(n int) string { return strconv.Itoa(n) }

func joinComma(s []string) string { return strings.Join(s, ", ") }

// guardDetail renames the fetch guard's option names in a detail to this
// package's Config field names.
func guardDetail(s string) string {
	return strings.ReplaceAll(s, "set AllowHTTP", "set AllowInsecureHTTP")
}
