package oidc

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	zcrypto "github.com/zitadel/oidc/v3/pkg/crypto"
	zoidc "github.com/zitadel/oidc/v3/pkg/oidc"
)

// clientKey signs private_key_jwt client assertions. It is parsed once in
// New.
type clientKey struct {
	signer jose.Signer
	alg    jose.SignatureAlgorithm
	kid    string
}

// parseClientKey reads a PEM private key and picks the signature algorithm
// from its type and curve.
func parseClientKey(b []byte, kid string) (*clientKey, error) {
	block, _ := pem.Decode(b)
	if block == nil {
		return nil, errors.New("no PEM block found")
	}
	var key any
	var err error
	switch block.Type {
	case "RSA PRIVATE KEY":
		key, err = x509.ParsePKCS1PrivateKey(block.Bytes)
	case "EC PRIVATE KEY":
		key, err = x509.ParseECPrivateKey(block.Bytes)
	case "PRIVATE KEY":
		key, err = x509.ParsePKCS8PrivateKey(block.Bytes)
	default:
		return nil, errors.New("PEM block is a " + block.Type + ", not a private key (RSA PRIVATE KEY, EC PRIVATE KEY or PRIVATE KEY)")
	}
	if err != nil {
		return nil, errors.New("cannot parse the " + block.Type + ": " + err.Error())
	}
	var alg jose.SignatureAlgorithm
	switch k := key.(type) {
	case *rsa.PrivateKey:
		if k.N.BitLen() < 2048 {
			return nil, errors.New("RSA key is shorter than 2048 bits")
		}
		alg = jose.RS256
	case *ecdsa.PrivateKey:
		switch k.Curve {
		case elliptic.P256():
			alg = jose.ES256
		case elliptic.P384():
			alg = jose.ES384
		case elliptic.P521():
			alg = jose.ES512
		default:
			return nil, errors.New("ECDSA key uses an unsupported curve")
		}
	case ed25519.PrivateKey:
		alg = jose.EdDSA
	default:
		return nil, errors.New("unsupported private key type")
	}
	jwk := jose.JSONWebKey{Key: key, KeyID: kid, Algorithm: string(alg), Use: "sig"}
	if kid == "" {
		pub := jwk.Public()
		tp, err := pub.Thumbprint(crypto.SHA256)
		if err != nil {
			return nil, errors.New("cannot compute the key thumbprint: " + err.Error())
		}
		jwk.KeyID = base64.RawURLEncoding.EncodeToString(tp)
	}
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: alg, Key: &jwk}, (&jose.SignerOptions{}).WithType("JWT"))
	if err != nil {
		return nil, errors.New("cannot build a signer: " + err.Error())
	}
	return &clientKey{signer: signer, alg: alg, kid: jwk.KeyID}, nil
}

// assertion returns a signed client assertion for the token endpoint.
func (k *clientKey) assertion(clientID, audience, jti string, now time.Time) (string, error) {
	return zcrypto.Sign(&zoidc.JWTTokenRequest{
		Issuer:    clientID,
		Subject:   clientID,
		Audience:  []string{audience},
		IssuedAt:  zoidc.FromTime(now),
		ExpiresAt: zoidc.FromTime(now.Add(time.Minute)),
		JWTID:     jti,
	}, k.signer)
}
