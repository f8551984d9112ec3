package demoapp_test

import (
	"encoding/json"
	"errors"
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/ssokit/sso/examples/demo/demoapp"
	"github.com/ssokit/sso/saml/samltest"
)

// The identity provider guides in docs/idp follow these conventions, which
// TestDocsIDP enforces so that a guide cannot send an administrator after a
// Reason, a configuration field or a Go name that does not exist:
//
//   - Every table with a column headed "Reason" lists, in each row, either
//     backquoted Reasons (the strings of the Reason constants in errors.go)
//     or text starting with "none" (the IdP stops the login on its own page).
//   - Every backquoted snake_case word (also as part of a dotted path such as
//     `provisioning.trust_email`) is a Reason, a field of the demo's
//     configuration file as examples/demo/CONFIG.md lists it, the value of an
//     exported string constant (`client_secret_post`, `login_failed`), or
//     one of the protocol terms in docsProtocolTerms.
//   - Every backquoted Go name (`saml.Config.EntityID`, `ldap.UPN`, or a bare
//     `TrustEmail`) exists in the packages of docsGoPackages, unless it is a
//     protocol term.
//   - Every json block is a connection of the demo's configuration file (an
//     element of accounts[].connections) or a whole file, and passes the
//     demo's own check.
//   - README.md links every other page.

// repoRoot is the repository's root, seen from this package.
const repoRoot = "../../.."

// docsProtocolTerms are backquoted words of the guides that name protocol
// elements, claims or IdP settings rather than ssokit's.
var docsProtocolTerms = map[string]bool{
	"email_verified": true, "end_session_endpoint": true, "token_endpoint_auth_methods": true,
	"realm_access": true, "role_list": true,
	"SingleLogoutService": true, "InResponseTo": true, "SAMLResponse": true, "Role": true,
}

// docsGoPackages are the packages whose names the guides may cite, by the
// name they are cited with.
var docsGoPackages = map[string]string{
	"sso": ".", "saml": "saml", "oidc": "oidc", "ldap": "ldap", "login": "login", "provisioning": "provisioning", "policy": "policy",
}

func TestDocsIDP(t *testing.T) {
	reasons := docsReasons(t)
	fields := docsConfigFields(t)
	api := docsGoAPI(t)

	pages, err := filepath.Glob(filepath.Join(repoRoot, "docs", "idp", "*.md"))
	if err != nil {
		t.Fatal(err)
	}
	readme, err := os.ReadFile(filepath.Join(repoRoot, "docs", "idp", "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	if len(pages) < 10 {
		t.Fatalf("docs/idp holds %d pages, want the index and at least nine guides", len(pages))
	}
	for _, page := range pages {
		name := filepath.Base(page)
		t.Run(strings.TrimSuffix(name, ".md"), func(t *testing.T) {
			b, err := os.ReadFile(page)
			if err != nil {
				t.Fatal(err)
			}
			doc := string(b)
			prose, blocks := docsSplitFences(doc)

			rows := docsCheckReasonTables(t, prose, reasons)
			docsCheckWords(t, prose, reasons, fields, api)

			jsonBlocks := 0
			for _, blk := range blocks {
				if blk.lang != "json" {
					continue
				}
				jsonBlocks++
				docsCheckJSON(t, blk, name)
			}

			if name == "README.md" {
				return
			}
			if !strings.Contains(string(readme), "]("+name+")") {
				t.Errorf("README.md does not link %s", name)
			}
			if rows < 3 {
				t.Errorf("%s has %d rows in Reason tables; each guide lists its usual mistakes with their Reasons", name, rows)
			}
			if jsonBlocks == 0 {
				t.Errorf("%s has no json block with the demo's connection settings", name)
			}
			if !strings.Contains(doc, "ssocheck ") {
				t.Errorf("%s does not say how to check the setup with ssocheck", name)
			}
		})
	}
}

// docsReasons returns the string values of the Reason constants of
// errors.go.
func docsReasons(t *testing.T) map[string]bool {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(repoRoot, "errors.go"))
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]bool{}
	for _, m := range regexp.MustCompile(`\bReason\s*=\s*"([a-z0-9_]+)"`).FindAllStringSubmatch(string(b), -1) {
		out[m[1]] = true
	}
	if len(out) < 50 {
		t.Fatalf("found only %d Reasons in errors.go", len(out))
	}
	return out
}

// docsConfigFields returns the field names of the demo's configuration file:
// every component of the field paths listed in examples/demo/CONFIG.md.
func docsConfigFields(t *testing.T) map[string]bool {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(repoRoot, "examples", "demo", "CONFIG.md"))
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]bool{}
	for _, m := range regexp.MustCompile("(?m)^\\| `([a-z0-9_\\[\\].]+)` \\|").FindAllStringSubmatch(string(b), -1) {
		for _, part := range strings.Split(strings.ReplaceAll(m[1], "[]", ""), ".") {
			out[part] = true
		}
	}
	if !out["idp_metadata_url"] || !out["trust_email"] || !out["bind_dn"] {
		t.Fatalf("could not read the field names of examples/demo/CONFIG.md (got %d)", len(out))
	}
	return out
}

// goAPI holds the exported names of some packages.
type goAPI struct {
	top     map[string]bool // "saml.Config"
	members map[string]bool // "saml.Config.EntityID": fields and methods
	any     map[string]bool // every exported name, field and method
	values  map[string]bool // the string values of exported constants ("client_secret_basic")
}

// docsGoAPI parses the non-test Go files of docsGoPackages.
func docsGoAPI(t *testing.T) *goAPI {
	t.Helper()
	api := &goAPI{top: map[string]bool{}, members: map[string]bool{}, any: map[string]bool{}, values: map[string]bool{}}
	fset := token.NewFileSet()
	for pkg, dir := range docsGoPackages {
		files, err := filepath.Glob(filepath.Join(repoRoot, dir, "*.go"))
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range files {
			if strings.HasSuffix(f, "_test.go") {
				continue
			}
			file, err := parser.ParseFile(fset, f, nil, parser.SkipObjectResolution)
			if err != nil {
				t.Fatal(err)
			}
			for _, decl := range file.Decls {
				switch d := decl.(type) {
				case *ast.FuncDecl:
					if !d.Name.IsExported() {
						continue
					}
					api.any[d.Name.Name] = true
					if d.Recv == nil || len(d.Recv.List) == 0 {
						api.top[pkg+"."+d.Name.Name] = true
						continue
					}
					recv := d.Recv.List[0].Type
					if star, ok := recv.(*ast.StarExpr); ok {
						recv = star.X
					}
					if id, ok := recv.(*ast.Ident); ok {
						api.members[pkg+"."+id.Name+"."+d.Name.Name] = true
					}
				case *ast.GenDecl:
					for _, spec := range d.Specs {
						switch s := spec.(type) {
						case *ast.TypeSpec:
							if !s.Name.IsExported() {
								continue
							}
							api.top[pkg+"."+s.Name.Name] = true
							api.any[s.Name.Name] = true
							st, ok := s.Type.(*ast.StructType)
							if !ok {
								continue
							}
							for _, fld := range st.Fields.List {
								for _, n := range fld.Names {
									if n.IsExported() {
										api.members[pkg+"."+s.Name.Name+"."+n.Name] = true
										api.any[n.Name] = true
									}
								}
							}
						case *ast.ValueSpec:
							for j, n := range s.Names {
								if !n.IsExported() {
									continue
								}
								api.top[pkg+"."+n.Name] = true
								api.any[n.Name] = true
								if d.Tok == token.CONST && j < len(s.Values) {
									if lit, ok := s.Values[j].(*ast.BasicLit); ok && lit.Kind == token.STRING {
										api.values[strings.Trim(lit.Value, "\"`")] = true
									}
								}
							}
						}
					}
				}
			}
		}
	}
	return api
}

// fence is a fenced code block.
type fence struct {
	lang, text string
	line       int
}

// docsSplitFences returns the page without its fenced code blocks, and the
// blocks.
func docsSplitFences(doc string) (string, []fence) {
	var prose strings.Builder
	var blocks []fence
	var cur *fence
	var body strings.Builder
	for i, line := range strings.Split(doc, "\n") {
		trimmed := strings.TrimSpace(line)
		if strings.HasPrefix(trimmed, "```") {
			if cur == nil {
				cur = &fence{lang: strings.TrimPrefix(trimmed, "```"), line: i + 1}
				body.Reset()
			} else {
				cur.text = body.String()
				blocks = append(blocks, *cur)
				cur = nil
			}
			prose.WriteString("\n")
			continue
		}
		if cur != nil {
			body.WriteString(line)
			body.WriteString("\n")
			prose.WriteString("\n")
			continue
		}
		prose.WriteString(line)
		prose.WriteString("\n")
	}
	return prose.String(), blocks
}

var (
	reCode   = regexp.MustCompile("`([^`]+)`")
	reSnake  = regexp.MustCompile(`^[a-z][a-z0-9_.]*$`)
	reGoName = regexp.MustCompile(`^\*?([a-z]+)\.([A-Z]\w*)(?:\.([A-Z]\w*))?$`)
	reBareGo = regexp.MustCompile(`^[A-Z][A-Za-z0-9]*$`)
)

// docsCells splits a table row into its cells; `\|` is a pipe inside a
// cell.
func docsCells(row string) []string {
	row = strings.TrimSpace(row)
	row = strings.TrimPrefix(row, "|")
	row = strings.TrimSuffix(row, "|")
	var cells []string
	var cur strings.Builder
	for i := 0; i < len(row); i++ {
		switch {
		case row[i] == '\\' && i+1 < len(row) && row[i+1] == '|':
			cur.WriteString(`\|`)
			i++
		case row[i] == '|':
			cells = append(cells, strings.TrimSpace(cur.String()))
			cur.Reset()
		default:
			cur.WriteByte(row[i])
		}
	}
	return append(cells, strings.TrimSpace(cur.String()))
}

// docsCheckReasonTables checks the Reason column of every table and returns
// the number of rows checked.
func docsCheckReasonTables(t *testing.T, prose string, reasons map[string]bool) int {
	t.Helper()
	rows := 0
	col := -1
	inTable := false
	for i, line := range strings.Split(prose, "\n") {
		trimmed := strings.TrimSpace(line)
		if !strings.HasPrefix(trimmed, "|") {
			inTable, col = false, -1
			continue
		}
		cells := docsCells(trimmed)
		if !inTable {
			inTable, col = true, -1
			for j, c := range cells {
				if c == "Reason" {
					col = j
				}
			}
			continue
		}
		if col < 0 || strings.Trim(trimmed, "|-: ") == "" {
			continue
		}
		if col >= len(cells) {
			t.Errorf("line %d: the row has no Reason cell: %s", i+1, trimmed)
			continue
		}
		cell := cells[col]
		codes := reCode.FindAllStringSubmatch(cell, -1)
		if len(codes) == 0 && !strings.HasPrefix(cell, "none") {
			t.Errorf("line %d: Reason cell %q names no backquoted Reason and does not start with \"none\"", i+1, cell)
		}
		for _, m := range codes {
			if !reasons[m[1]] {
				t.Errorf("line %d: %q in the Reason column is not a Reason of errors.go", i+1, m[1])
			}
		}
		rows++
	}
	return rows
}

// docsCheckWords checks every backquoted snake_case word and Go name of the
// prose.
func docsCheckWords(t *testing.T, prose string, reasons, fields map[string]bool, api *goAPI) {
	t.Helper()
	for i, line := range strings.Split(prose, "\n") {
		for _, m := range reCode.FindAllStringSubmatch(line, -1) {
			w := m[1]
			switch {
			case reSnake.MatchString(w) && strings.Contains(w, "_"):
				for _, part := range strings.Split(w, ".") {
					if strings.Contains(part, "_") && !reasons[part] && !fields[part] && !api.values[part] && !docsProtocolTerms[part] {
						t.Errorf("line %d: `%s` is neither a Reason, a field of examples/demo/CONFIG.md, the value of a constant of %s, nor a known protocol term", i+1, w, docsPackageList())
					}
				}
			case reGoName.MatchString(w):
				g := reGoName.FindStringSubmatch(w)
				if _, ok := docsGoPackages[g[1]]; !ok {
					continue // a name of another package, such as `http.Client`
				}
				if !api.top[g[1]+"."+g[2]] {
					t.Errorf("line %d: `%s`: package %s has no exported %s", i+1, w, g[1], g[2])
				} else if g[3] != "" && !api.members[g[1]+"."+g[2]+"."+g[3]] {
					t.Errorf("line %d: `%s`: %s.%s has no field or method %s", i+1, w, g[1], g[2], g[3])
				}
			case reBareGo.MatchString(w):
				if !api.any[w] && !docsProtocolTerms[w] {
					t.Errorf("line %d: `%s` is no exported name, field or method of %s, nor a known protocol term", i+1, w, docsPackageList())
				}
			}
		}
	}
}

func docsPackageList() string {
	names := make([]string, 0, len(docsGoPackages))
	for n := range docsGoPackages {
		names = append(names, n)
	}
	sort.Strings(names)
	return strings.Join(names, ", ")
}

// docsCheckJSON parses a json block and runs it through the demo's check,
// inside a minimal configuration when it is a single connection.
func docsCheckJSON(t *testing.T, blk fence, page string) {
	t.Helper()
	var v map[string]any
	if err := json.Unmarshal([]byte(blk.text), &v); err != nil {
		t.Errorf("json block at line %d does not parse: %v", blk.line, err)
		return
	}
	file := blk.text
	switch {
	case v["protocol"] != nil:
		file = `{"base_url": "https://app.example.com", "accounts": [{"id": "acme", "name": "Acme", "aliases": ["acme"],
			"domains": ["acme.example"], "policy": {"mode": "sso_optional"}, "connections": [` + blk.text + `]}]}`
	case v["accounts"] != nil:
	default:
		t.Errorf("json block at line %d is neither a connection (with \"protocol\") nor a configuration file (with \"accounts\")", blk.line)
		return
	}
	dir := t.TempDir()
	path := filepath.Join(dir, strings.TrimSuffix(page, ".md")+".json")
	if err := os.WriteFile(path, []byte(file), 0o600); err != nil {
		t.Fatal(err)
	}
	// The files a guide names hold what the administrator downloads: the
	// IdP's metadata, the directory's or provider's CA certificate.
	for _, m := range docsFileRefs.FindAllStringSubmatch(blk.text, -1) {
		content := docsCACert(t)
		if m[1] == "idp_metadata_file" {
			content = docsIdPMetadata(t)
		}
		if err := os.WriteFile(filepath.Join(dir, m[2]), content, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	if err := demoapp.Check(demoapp.Options{ConfigFile: path}); err != nil {
		var ce *demoapp.ConfigError
		if errors.As(err, &ce) {
			for _, p := range ce.Problems {
				t.Errorf("json block at line %d: %s: %s", blk.line, p.Field, p.Fix)
			}
			return
		}
		t.Errorf("json block at line %d: %v", blk.line, err)
	}
}

var docsFileRefs = regexp.MustCompile(`"(idp_metadata_file|ca_cert_file)":\s*"([^"]+)"`)

// docsCACert returns a CA certificate in PEM.
func docsCACert(t *testing.T) []byte {
	t.Helper()
	_, cert, err := samltest.GenerateKeyPair("Acme Root CA", time.Now().Add(-time.Hour), time.Now().AddDate(1, 0, 0))
	if err != nil {
		t.Fatal(err)
	}
	return samltest.CertificatePEM(cert)
}

// docsIdPMetadata returns a SAML IdP's metadata.
func docsIdPMetadata(t *testing.T) []byte {
	t.Helper()
	return samltest.Start(t, samltest.Config{}).Metadata()
}
