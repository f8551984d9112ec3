package host

import (
	"context"
	"crypto/pbkdf2"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"errors"
	"sync"

	"github.com/ssokit/sso"
	"github.com/ssokit/sso/login"
	"github.com/ssokit/sso/provisioning"
)

// passwordIterations is the PBKDF2-SHA256 work factor. It is kept low so
// that the examples and their tests start quickly; a real application
// follows current guidance (600,000 iterations for PBKDF2-SHA256) or uses
// its framework's password hashing.
const passwordIterations = 10_000

// ErrWrongPassword is returned by Passwords.CheckPassword for an unknown
// email or a wrong password alike.
var ErrWrongPassword = errors.New("wrong email or password")

// Passwords is the host application's own password table: salted PBKDF2
// hashes by email. It implements login.PasswordChecker. ssokit asks the
// account's policy before it calls CheckPassword, so a person who must use
// single sign-on never has their password checked.
//
// Passwords is safe for concurrent use.
type Passwords struct {
	users login.Users
	mu    sync.Mutex
	hash  map[string][]byte // provisioning.EmailKey(email) -> salt (16 bytes) + key
}

// NewPasswords returns an empty table whose CheckPassword answers with the
// user ID that users knows for the email.
func NewPasswords(users login.Users) *Passwords {
	return &Passwords{users: users, hash: map[string][]byte{}}
}

func derive(pw string, salt []byte) []byte {
	k, err := pbkdf2.Key(sha256.New, pw, salt, passwordIterations, 32)
	if err != nil {
		panic(err) // only for invalid parameters, which are constants here
	}
	return append(append([]byte(nil), salt...), k...)
}

// Set sets the password of the user with the email.
func (p *Passwords) Set(email, pw string) {
	salt := make([]byte, 16)
	_, _ = rand.Read(salt)
	h := derive(pw, salt)
	p.mu.Lock()
	p.hash[provisioning.EmailKey(email)] = h
	p.mu.Unlock()
}

// CheckPassword implements login.PasswordChecker.
func (p *Passwords) CheckPassword(ctx context.Context, email string, pw sso.Secret) (string, error) {
	p.mu.Lock()
	stored := p.hash[provisioning.EmailKey(email)]
	p.mu.Unlock()
	if stored == nil {
		derive(pw.Reveal(), make([]byte, 16)) // the same work for unknown emails
		return "", ErrWrongPassword
	}
	if subtle.ConstantTimeCompare(derive(pw.Reveal(), stored[:16]), stored) != 1 {
		return "", ErrWrongPassword
	}
	return p.users.UserByEmail(ctx, email)
}
