package safehttp

import (
	"net/http"
	"testing"
	"time"
)

func TestCacheUntil(t *testing.T) {
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	date := "Sun, 01 Mar 2026 10:00:00 GMT" // server clock two hours behind
	tests := []struct {
		name   string
		header http.Header
		want   time.Time
	}{
		{"none", http.Header{}, time.Time{}},
		{"max-age", http.Header{"Cache-Control": {"public, max-age=3600"}}, now.Add(time.Hour)},
		{"max-age quoted", http.Header{"Cache-Control": {`max-age="60"`}}, now.Add(time.Minute)},
		{"max-age wins over Expires", http.Header{"Cache-Control": {"max-age=60"}, "Expires": {"Sun, 01 Mar 2026 20:00:00 GMT"}}, now.Add(time.Minute)},
		{"no-cache", http.Header{"Cache-Control": {"no-cache"}}, now},
		{"no-store", http.Header{"Cache-Control": {"private, No-Store"}}, now},
		{"bad max-age ignored", http.Header{"Cache-Control": {"max-age=-1, max-age=x"}}, time.Time{}},
		{"huge max-age", http.Header{"Cache-Control": {"max-age=999999999999999"}}, now.Add(100 * 365 * 24 * time.Hour)},
		{"Expires relative to Date", http.Header{"Date": {date}, "Expires": {"Sun, 01 Mar 2026 11:00:00 GMT"}}, now.Add(time.Hour)},
		{"Expires without Date", http.Header{"Expires": {"Sun, 01 Mar 2026 13:00:00 GMT"}}, now.Add(time.Hour)},
		{"invalid Expires", http.Header{"Expires": {"0"}}, now},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := &Response{Header: tt.header}
			if got := r.CacheUntil(now); !got.Equal(tt.want) {
				t.Fatalf("CacheUntil = %s, want %s", got, tt.want)
			}
		})
	}
}
