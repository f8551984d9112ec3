package sso_test

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"go/ast"
	"go/importer"
	"go/parser"
	"go/scanner"
	"go/token"
	"go/types"
	"os"
	"strings"
	"testing"
)

// readmePrelude declares what README's Go blocks use without declaring:
// the request being served, keys, the host's own parts. Each block becomes
// the body of a function, so a block may declare what the prelude does.
const readmePrelude = `package readme

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"

	"github.com/ssokit/sso"
	"github.com/ssokit/sso/discovery"
	"github.com/ssokit/sso/ldap"
	"github.com/ssokit/sso/login"
	"github.com/ssokit/sso/oidc"
	"github.com/ssokit/sso/policy"
	"github.com/ssokit/sso/provisioning"
	"github.com/ssokit/sso/saml"
	"github.com/ssokit/sso/store/redisstore"
	"github.com/ssokit/sso/store/sqlstore"

	"github.com/redis/go-redis/v9"
)

var (
	ctx             context.Context
	w               http.ResponseWriter
	r               *http.Request
	mux             *http.ServeMux
	key             []byte
	pastedMetadata  []byte
	email, password string
	caPEM           []byte
	svcDN           string
	svcPassword     sso.Secret
	cookies         *sso.Cookies
	prov            *provisioning.Provisioner
	store           provisioning.Store
	mySessions      login.Sessions
	myPasswordCheck func(context.Context, string, sso.Secret) (string, error)
	auditLog        sso.EventFunc
	reg             *login.Registry
)

var (
	_ = fmt.Sprint
	_ = slog.Default
	_ = discovery.New
	_ = ldap.New
	_ = oidc.New
	_ = policy.Decide
	_ = saml.New
	_ = sqlstore.OpenPostgres
	_ = redisstore.New
	_ = redis.NewClient
)
`

// TestReadmeGoBlocksCompile type-checks every Go block of README.md, so
// that the documentation cannot drift from the API. Unused variables are
// allowed (a block shows a step, not a whole program).
func TestReadmeGoBlocksCompile(t *testing.T) {
	if testing.Short() {
		t.Skip("type-checks the module from source")
	}
	readme, err := os.ReadFile("README.md")
	if err != nil {
		t.Fatal(err)
	}
	type block struct {
		readmeLine, genLine int
	}
	var src strings.Builder
	src.WriteString(readmePrelude)
	var blocks []block
	sc := bufio.NewScanner(bytes.NewReader(readme))
	line, in := 0, false
	for sc.Scan() {
		line++
		text := sc.Text()
		switch {
		case !in && strings.TrimSpace(text) == "```go":
			in = true
			fmt.Fprintf(&src, "func block%d() {\n", len(blocks))
			blocks = append(blocks, block{readmeLine: line + 1, genLine: strings.Count(src.String(), "\n") + 1})
		case in && strings.TrimSpace(text) == "```":
			in = false
			src.WriteString("}\n")
		case in:
			src.WriteString(text + "\n")
		}
	}
	if in {
		t.Fatal("README.md: a ```go block is not closed")
	}
	if len(blocks) < 4 {
		t.Fatalf("README.md has %d Go blocks; expected the four quick starts at least", len(blocks))
	}
	// where maps a line of the generated file back to README.md.
	where := func(pos token.Position) string {
		for i := len(blocks) - 1; i >= 0; i-- {
			if pos.Line >= blocks[i].genLine {
				return fmt.Sprintf("README.md:%d", blocks[i].readmeLine+pos.Line-blocks[i].genLine)
			}
		}
		return fmt.Sprintf("prelude:%d", pos.Line)
	}
	fset := token.NewFileSet()
	f, err := parser.ParseFile(fset, "readme.go", src.String(), 0)
	if err != nil {
		var list scanner.ErrorList
		if errors.As(err, &list) {
			for _, e := range list {
				t.Error(where(e.Pos) + ": " + e.Msg)
			}
		}
		t.Fatalf("README.md's Go blocks do not parse: %v", err)
	}
	var problems []string
	conf := types.Config{
		Importer: importer.ForCompiler(fset, "source", nil),
		Error: func(err error) {
			var te types.Error
			if errors.As(err, &te) {
				if te.Soft && strings.Contains(te.Msg, "declared and not used") {
					return
				}
				problems = append(problems, where(te.Fset.Position(te.Pos))+": "+te.Msg)
				return
			}
			problems = append(problems, err.Error())
		},
	}
	_, _ = conf.Check("readme", fset, []*ast.File{f}, nil)
	for _, p := range problems {
		t.Error(p)
	}
}
