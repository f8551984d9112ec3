package safehttp

import (
	"errors"
	"strings"
	"testing"

	"github.com/ssokit/sso"
)

func TestCheckURL(t *testing.T) {
	tests := []struct {
		url    string
		opts   Options
		reason sso.Reason // "" = accepted
		detail string
	}{
		{"https://idp.example.com/metadata", Options{}, "", ""},
		{"https://idp.example.com:8443/app/metadata?appid=1", Options{}, "", ""},
		{"https://8.8.8.8/metadata", Options{}, "", ""},
		{"https://[2606:4700:4700::1111]/m", Options{}, "", ""},
		{"HTTPS://IDP.EXAMPLE.COM/m", Options{}, "", ""},

		{"http://idp.example.com/metadata", Options{}, sso.ReasonAddressNotAllowed, "InsecureAllowHTTP"},
		{"http://idp.example.com/metadata", Options{InsecureAllowHTTP: true}, "", ""},
		{"ftp://idp.example.com/metadata", Options{InsecureAllowHTTP: true}, sso.ReasonAddressNotAllowed, "only https"},
		{"file:///etc/passwd", Options{}, sso.ReasonAddressNotAllowed, "only https"},
		{"gopher://127.0.0.1:6379/_FLUSHALL", Options{}, sso.ReasonAddressNotAllowed, "only https"},

		{"https://127.0.0.1/metadata", Options{}, sso.ReasonAddressNotAllowed, "InsecureAllowPrivateNetwork"},
		{"https://[::1]/metadata", Options{}, sso.ReasonAddressNotAllowed, "loopback"},
		{"https://[::ffff:127.0.0.1]/metadata", Options{}, sso.ReasonAddressNotAllowed, "loopback"},
		{"https://169.254.169.254/latest/meta-data/", Options{}, sso.ReasonAddressNotAllowed, "link-local"},
		{"https://10.0.0.5/metadata", Options{}, sso.ReasonAddressNotAllowed, "private"},
		{"https://localhost/metadata", Options{}, sso.ReasonAddressNotAllowed, "loopback name"},
		{"https://LOCALHOST./metadata", Options{}, sso.ReasonAddressNotAllowed, "loopback name"},
		{"https://app.localhost/metadata", Options{}, sso.ReasonAddressNotAllowed, "loopback name"},
		{"https://127.0.0.1/metadata", Options{PrivateNetworkOptionName: "InsecureAllowPrivateNetwork"}, sso.ReasonAddressNotAllowed, "unless InsecureAllowPrivateNetwork is set"},
		{"https://localhost/metadata", Options{PrivateNetworkOptionName: "InsecureAllowPrivateNetwork"}, sso.ReasonAddressNotAllowed, "unless InsecureAllowPrivateNetwork is set"},
		{"http://idp.example.com/metadata", Options{HTTPOptionName: "InsecureAllowHTTP"}, sso.ReasonAddressNotAllowed, "set InsecureAllowHTTP to allow"},
		{"https://127.0.0.1/metadata", Options{InsecureAllowPrivateNetwork: true}, "", ""},
		{"https://localhost/metadata", Options{InsecureAllowPrivateNetwork: true}, "", ""},

		{"https://2130706433/metadata", Options{}, sso.ReasonInvalidConfig, "neither"},
		{"https://0x7f.1/metadata", Options{}, sso.ReasonInvalidConfig, "neither"},
		{"https://127.0.0x1/metadata", Options{}, sso.ReasonInvalidConfig, "neither"},
		{"https://user:secret@idp.example.com/metadata", Options{}, sso.ReasonInvalidConfig, "credentials"},
		{"https:///metadata", Options{}, sso.ReasonInvalidConfig, "no host"},
		{"/metadata", Options{}, sso.ReasonInvalidConfig, "absolute"},
		{"idp.example.com/metadata", Options{}, sso.ReasonInvalidConfig, "absolute"},
		{"https://idp.example.com/%zz", Options{}, sso.ReasonInvalidConfig, "not a valid URL"},
		{"", Options{}, sso.ReasonInvalidConfig, "absolute"},
	}
	for _, tt := range tests {
		t.Run(tt.url, func(t *testing.T) {
			err := CheckURL(tt.url, tt.opts)
			if tt.reason == "" {
				if err != nil {
					t.Fatalf("CheckURL(%q) = %v, want nil", tt.url, err)
				}
				return
			}
			var se *sso.Error
			if !errors.As(err, &se) || se.Reason != tt.reason {
				t.Fatalf("CheckURL(%q) = %v, want reason %s", tt.url, err, tt.reason)
			}
			if !strings.Contains(se.Detail, tt.detail) {
				t.Fatalf("Detail %q does not mention %q", se.Detail, tt.detail)
			}
			if strings.Contains(err.Error(), "secret") {
				t.Fatalf("error reveals the password: %v", err)
			}
		})
	}
}

func TestOptionsValidate(t *testing.T) {
	if err := (Options{}).Validate(); err != nil {
		t.Fatalf("zero Options: %v", err)
	}
	for _, o := range []Options{{MaxBytes: -1}, {Timeout: -1}} {
		if err := o.Validate(); !errors.Is(err, sso.ReasonInvalidConfig) {
			t.Errorf("Validate(%+v) = %v, want invalid_config", o, err)
		}
	}
}
