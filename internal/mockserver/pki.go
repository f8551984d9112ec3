// Package mockserver holds what the in-process mock identity providers
// (saml/samltest, oidc/oidctest, ldap/ldaptest) share: a throwaway
// certificate authority for their TLS listeners, and an HTTP server on a
// loopback port with a client that trusts it.
package mockserver

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"time"
)

// PKI is a throwaway certificate authority and a server certificate it
// signed.
type PKI struct {
	// CAPEM is the CA certificate in PEM form.
	CAPEM []byte
	// Pool holds the CA certificate.
	Pool *x509.CertPool
	// Server is the server certificate, chained with the CA certificate,
	// and its key.
	Server tls.Certificate
}

// DefaultHosts are the names every server certificate is valid for.
var DefaultHosts = []string{"127.0.0.1", "::1", "localhost"}

// NewPKI returns a new CA named name and a server certificate it signed
// for DefaultHosts and hosts (IP addresses or DNS names). Both are valid
// from an hour ago for a year.
func NewPKI(name string, hosts ...string) (*PKI, error) {
	now := time.Now()
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	caTmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: name + " CA"},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.AddDate(1, 0, 0),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		return nil, err
	}
	caCert, err := x509.ParseCertificate(caDER)
	if err != nil {
		return nil, err
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(2),
		Subject:      pkix.Name{CommonName: name + " server"},
		NotBefore:    now.Add(-time.Hour),
		NotAfter:     now.AddDate(1, 0, 0),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	seen := map[string]bool{}
	for _, h := range append(append([]string(nil), DefaultHosts...), hosts...) {
		if h == "" || seen[h] {
			continue
		}
		seen[h] = true
		if ip := net.ParseIP(h); ip != nil {
			tmpl.IPAddresses = append(tmpl.IPAddresses, ip)
		} else {
			tmpl.DNSNames = append(tmpl.DNSNames, h)
		}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, caCert, &key.PublicKey, caKey)
	if err != nil {
		return nil, err
	}
	p := &PKI{
		CAPEM:  pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: caDER}),
		Pool:   x509.NewCertPool(),
		Server: tls.Certificate{Certificate: [][]byte{der, caDER}, PrivateKey: key},
	}
	p.Pool.AddCert(caCert)
	return p, nil
}

// ServerConfig returns a TLS server configuration with the server
// certificate.
func (p *PKI) ServerConfig() *tls.Config {
	return &tls.Config{Certificates: []tls.Certificate{p.Server}, MinVersion: tls.VersionTLS12}
}

// ClientConfig returns a TLS client configuration that trusts the CA and
// expects serverName (an IP address or host name the certificate is for).
func (p *PKI) ClientConfig(serverName string) *tls.Config {
	return &tls.Config{RootCAs: p.Pool, ServerName: serverName, MinVersion: tls.VersionTLS12}
}
