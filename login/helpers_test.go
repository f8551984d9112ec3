package login_test

import (
	"crypto/tls"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
)

func httptestRequest(method, target string, v url.Values) *http.Request {
	req := httptest.NewRequest(method, target, strings.NewReader(v.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return req
}

func tlsState() *tls.ConnectionState { return &tls.ConnectionState{} }

func recorder() *httptest.ResponseRecorder { return httptest.NewRecorder() }
