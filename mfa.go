package sso

// The factor categories of RFC 8176's authentication method references:
// something known, something held, something one is.
var amrCategory = map[string]int{
	"pwd": 1, "pin": 1, "kba": 1,
	"otp": 2, "hwk": 2, "swk": 2, "sms": 2, "tel": 2, "sc": 2,
	"fpt": 3, "face": 3, "iris": 3, "retina": 3, "vbm": 3, "geo": 0,
}

// entraMultipleAuthn is the value of Entra ID's authnmethodsreferences
// (SAML attribute http://schemas.microsoft.com/claims/authnmethodsreferences
// and the amr of its tokens) after a multi-factor sign-in.
const entraMultipleAuthn = "http://schemas.microsoft.com/claims/multipleauthn"

// MultiFactor reports whether authentication method references (the OpenID
// Connect amr claim, RFC 8176, or Entra ID's authnmethodsreferences) show
// more than one factor: "mfa" or "mca" (RFC 8176's multiple factors or
// channels), Entra ID's multipleauthn, or methods of two different
// categories (something known, held or inherent, e.g. "pwd" and "otp").
// Methods of one category ("otp" alone, "pwd" and "pin") are one factor.
func MultiFactor(methods []string) bool {
	seen := 0
	for _, m := range methods {
		switch m {
		case "mfa", "mca", entraMultipleAuthn:
			return true
		}
		if c := amrCategory[m]; c > 0 {
			seen |= 1 << c
		}
	}
	return seen&(seen-1) != 0 // two or more categories
}
