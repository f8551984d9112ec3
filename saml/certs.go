package saml

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/rsa"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"time"

	"github.com/ssokit/sso"
)

// ParseCertificates reads one or more X.509 certificates in any of the forms
// administrators paste from identity provider consoles:
//
//   - PEM, one or more "-----BEGIN CERTIFICATE-----" blocks, even when the
//     line breaks were lost and everything sits on one line;
//   - bare base64 (the X509Certificate text of metadata), on one line or
//     many, without BEGIN/END lines; several certificates are separated by
//     a blank line;
//   - DER, one certificate or several concatenated.
//
// Errors match sso.ReasonInvalidConfig and say which certificate failed.
func ParseCertificates(data []byte) ([]*x509.Certificate, error) {
	fail := func(detail string, err error) ([]*x509.Certificate, error) {
		return nil, &sso.Error{Op: "saml.ParseCertificates", Reason: sso.ReasonInvalidConfig, Detail: detail, Err: err}
	}
	// DER starts with a SEQUENCE tag; base64 and PEM never do. It is
	// binary: its last byte may well be one that TrimSpace would cut.
	if len(data) > 0 && data[0] == 0x30 {
		certs, err := x509.ParseCertificates(data)
		if err != nil {
			certs, err = x509.ParseCertificates(bytes.TrimRight(data, " \t\r\n"))
		}
		if err != nil {
			return fail("the certificate looks like DER but does not parse", err)
		}
		return certs, nil
	}
	data = bytes.TrimSpace(bytes.TrimPrefix(data, []byte("\xef\xbb\xbf")))
	if len(data) == 0 {
		return fail("the certificate is empty", nil)
	}
	var chunks []string
	if bytes.Contains(data, []byte("-----BEGIN")) {
		for _, m := range pemBlock.FindAllSubmatch(data, -1) {
			if strings.Contains(string(m[1]), "CERTIFICATE") {
				chunks = append(chunks, string(m[2]))
			}
		}
		if len(chunks) == 0 {
			return fail("the PEM text holds no complete CERTIFICATE block (check that the -----END CERTIFICATE----- line is there)", nil)
		}
	} else {
		chunks = blankLines.Split(string(data), -1)
	}
	var out []*x509.Certificate
	for i, c := range chunks {
		c = stripSpace(c)
		if c == "" {
			continue
		}
		der, err := decodeBase64(c)
		if err != nil {
			return fail(fmt.Sprintf("certificate %d is neither PEM, base64 nor DER", i+1), err)
		}
		certs, err := x509.ParseCertificates(der)
		if err != nil {
			return fail(fmt.Sprintf("certificate %d decodes from base64 but is not an X.509 certificate", i+1), err)
		}
		out = append(out, certs...)
	}
	if len(out) == 0 {
		return fail("no certificate found", nil)
	}
	return out, nil
}

var (
	pemBlock   = regexp.MustCompile(`(?s)-----BEGIN ([A-Z0-9 ]+)-----(.*?)-----END [A-Z0-9 ]+-----`)
	blankLines = regexp.MustCompile(`\r?\n[ \t]*\r?\n`)
)

// decodeBase64 decodes standard base64 with or without padding.
func decodeBase64(s string) ([]byte, error) {
	if b, err := base64.StdEncoding.DecodeString(s); err == nil {
		return b, nil
	}
	return base64.RawStdEncoding.DecodeString(strings.TrimRight(s, "="))
}

// ParsePrivateKey reads a private key in PEM (PKCS#1 "RSA PRIVATE KEY",
// PKCS#8 "PRIVATE KEY", SEC 1 "EC PRIVATE KEY") or DER form. Encrypted PEM
// is not supported: decrypt it first.
func ParsePrivateKey(data []byte) (crypto.Signer, error) {
	fail := func(detail string, err error) (crypto.Signer, error) {
		return nil, &sso.Error{Op: "saml.ParsePrivateKey", Reason: sso.ReasonInvalidConfig, Detail: detail, Err: err}
	}
	der := data
	if len(data) == 0 || data[0] != 0x30 {
		// Text; DER (a SEQUENCE) is binary and is not trimmed.
		data = bytes.TrimSpace(data)
		der = data
	}
	if len(data) == 0 {
		return fail("the private key is empty", nil)
	}
	if bytes.Contains(data, []byte("-----BEGIN")) {
		m := pemBlock.FindSubmatch(data)
		if m == nil || !strings.Contains(string(m[1]), "PRIVATE KEY") {
			return fail("the PEM text holds no complete PRIVATE KEY block", nil)
		}
		if strings.Contains(string(m[1]), "ENCRYPTED") || bytes.Contains(m[2], []byte("Proc-Type")) {
			return fail("the private key is encrypted; store it decrypted (and protected) instead", nil)
		}
		b, err := decodeBase64(stripSpace(string(m[2])))
		if err != nil {
			return fail("the PEM private key is not valid base64", err)
		}
		der = b
	} else if data[0] != 0x30 {
		b, err := decodeBase64(stripSpace(string(data)))
		if err != nil {
			return fail("the private key is neither PEM, base64 nor DER", err)
		}
		der = b
	}
	if k, err := x509.ParsePKCS8PrivateKey(der); err == nil {
		s, ok := k.(crypto.Signer)
		if !ok {
			return fail(fmt.Sprintf("unsupported private key type %T", k), nil)
		}
		return s, nil
	}
	if k, err := x509.ParsePKCS1PrivateKey(der); err == nil {
		return k, nil
	}
	if k, err := x509.ParseECPrivateKey(der); err == nil {
		return k, nil
	}
	return fail("the private key is not PKCS#1, PKCS#8 or SEC 1", nil)
}

// KeyPair is one service-provider key with its certificate, used to sign
// requests and to decrypt encrypted assertions.
type KeyPair struct {
	// Key is the private key in PEM or DER (see ParsePrivateKey).
	Key sso.Secret
	// Certificate is the matching certificate, in any form ParseCertificates
	// reads; only the first certificate is used. It is needed to publish
	// the key in the SP metadata and to sign; a key without certificate
	// can only decrypt.
	Certificate []byte
	// UseFrom, for a key rollover, is when this key takes over signing and
	// becomes the certificate offered for encryption; zero means now.
	// Until then it is published in the SP metadata beside the current
	// key, so that IdPs that read the metadata learn it ahead, and it
	// already decrypts. The current key is the one with the latest UseFrom
	// that has passed (the first listed among equals).
	UseFrom time.Time
}

// spKey is a parsed KeyPair.
type spKey struct {
	signer  crypto.Signer
	rsa     *rsa.PrivateKey   // nil for non-RSA keys, which cannot decrypt
	cert    *x509.Certificate // nil when the KeyPair has none
	useFrom time.Time
}

func parseKeyPair(kp KeyPair, i int) (*spKey, error) {
	wrap := func(err error) error {
		var e *sso.Error
		if errors.As(err, &e) {
			e.Detail = fmt.Sprintf("SPKeys[%d]: %s", i, e.Detail)
		}
		return err
	}
	signer, err := ParsePrivateKey([]byte(kp.Key.Reveal()))
	if err != nil {
		return nil, wrap(err)
	}
	k := &spKey{signer: signer, useFrom: kp.UseFrom}
	if len(kp.Certificate) > 0 {
		certs, err := ParseCertificates(kp.Certificate)
		if err != nil {
			return nil, wrap(err)
		}
		if !publicKeysEqual(signer.Public(), certs[0].PublicKey) {
			return nil, &sso.Error{Op: "saml.New", Reason: sso.ReasonInvalidConfig, Detail: fmt.Sprintf("SPKeys[%d]: the certificate does not belong to the private key", i)}
		}
		k.cert = certs[0]
	}
	k.rsa, _ = signer.(*rsa.PrivateKey)
	return k, nil
}

// SPKeyInfo describes one of the service provider's keys for
// administrators.
type SPKeyInfo struct {
	// Certificate describes the key's certificate; zero for a key without
	// one (it only decrypts).
	Certificate CertificateInfo `json:"certificate"`
	// UseFrom is KeyPair.UseFrom.
	UseFrom time.Time `json:"use_from,omitzero"`
	// Current: the key signs now and its certificate is offered for
	// encryption. Published: the SP metadata lists it (current, or taking
	// over later). Every key decrypts.
	Current, Published bool
}

// SPKeys describes the service provider's keys, in the order configured.
func (sp *ServiceProvider) SPKeys() []SPKeyInfo {
	now := sp.cfg.Now()
	cur := sp.currentKey(now)
	out := make([]SPKeyInfo, 0, len(sp.keys))
	for _, k := range sp.keys {
		ki := SPKeyInfo{UseFrom: k.useFrom, Current: k == cur, Published: k.cert != nil && (k == cur || k.useFrom.After(now))}
		if k.cert != nil {
			ki.Certificate = DescribeCertificate(k.cert)
		}
		out = append(out, ki)
	}
	return out
}

// currentKey returns the key with a certificate that is current at now
// (see KeyPair.UseFrom), or nil when there is none.
func (sp *ServiceProvider) currentKey(now time.Time) *spKey {
	var cur *spKey
	for _, k := range sp.keys {
		if k.cert == nil || k.useFrom.After(now) {
			continue
		}
		if cur == nil || k.useFrom.After(cur.useFrom) {
			cur = k
		}
	}
	return cur
}

// publishedKeys returns the keys with a certificate that the SP metadata
// lists for use (signing, or encryption when rsaOnly): the current one
// first, then those whose UseFrom is still ahead.
func (sp *ServiceProvider) publishedKeys(now time.Time, rsaOnly bool) []*spKey {
	var out []*spKey
	if cur := sp.currentKey(now); cur != nil && (!rsaOnly || cur.rsa != nil) {
		out = append(out, cur)
	}
	for _, k := range sp.keys {
		if k.cert != nil && k.useFrom.After(now) && (!rsaOnly || k.rsa != nil) {
			out = append(out, k)
		}
	}
	return out
}

func publicKeysEqual(a, b crypto.PublicKey) bool {
	type equaler interface{ Equal(crypto.PublicKey) bool }
	e, ok := a.(equaler)
	return ok && e.Equal(b)
}

// CertificateInfo describes a certificate for administrators.
type CertificateInfo struct {
	// Subject and Issuer are the certificate's distinguished names.
	Subject string `json:"subject"`
	Issuer  string `json:"issuer"`
	// NotBefore and NotAfter bound its validity.
	NotBefore time.Time `json:"not_before"`
	NotAfter  time.Time `json:"not_after"`
	// SHA256 and SHA1 are the fingerprints of the DER certificate, as
	// colon-separated upper-case hex (SHA1 is the "thumbprint" ADFS and
	// Entra ID show).
	SHA256 string `json:"sha256"`
	SHA1   string `json:"sha1"`
	// KeyType is e.g. "RSA-2048" or "ECDSA-P256".
	KeyType string `json:"key_type"`
}

// DescribeCertificate returns the CertificateInfo of c.
func DescribeCertificate(c *x509.Certificate) CertificateInfo {
	s256 := sha256.Sum256(c.Raw)
	s1 := sha1.Sum(c.Raw)
	return CertificateInfo{
		Subject:   c.Subject.String(),
		Issuer:    c.Issuer.String(),
		NotBefore: c.NotBefore.UTC(),
		NotAfter:  c.NotAfter.UTC(),
		SHA256:    fingerprint(s256[:]),
		SHA1:      fingerprint(s1[:]),
		KeyType:   keyType(c.PublicKey),
	}
}

// String returns "subject (SHA-256 xx:..., valid until date)".
func (ci CertificateInfo) String() string {
	fp := ci.SHA256
	if len(fp) > 23 {
		fp = fp[:23] + "…"
	}
	return fmt.Sprintf("%q (SHA-256 %s, valid %s to %s)", ci.Subject, fp, ci.NotBefore.Format("2006-01-02"), ci.NotAfter.Format("2006-01-02"))
}

func fingerprint(b []byte) string {
	h := strings.ToUpper(hex.EncodeToString(b))
	var s strings.Builder
	for i := 0; i < len(h); i += 2 {
		if i > 0 {
			s.WriteByte(':')
		}
		s.WriteString(h[i : i+2])
	}
	return s.String()
}

func keyType(pub crypto.PublicKey) string {
	switch k := pub.(type) {
	case *rsa.PublicKey:
		return fmt.Sprintf("RSA-%d", k.N.BitLen())
	case *ecdsa.PublicKey:
		return "ECDSA-" + k.Curve.Params().Name
	default:
		return fmt.Sprintf("%T", pub)
	}
}
