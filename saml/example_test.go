package saml_test

import (
	"context"
	"fmt"
	"log"
	"time"

	"github.com/ssokit/sso"
	"github.com/ssokit/sso/saml"
	"github.com/ssokit/sso/saml/samltest"
)

// The quick start: build a connection from the IdP's metadata, send the
// browser to the IdP with Begin, and check what it posts back with
// Complete. An in-process samltest IdP stands in for the organisation's
// IdP and answers without a browser.
func Example() {
	ctx := context.Background()
	idp, err := samltest.NewServer(samltest.Config{})
	if err != nil {
		log.Fatal(err)
	}
	defer idp.Close()

	// Once, when the administrator saves the connection: parse and check
	// everything. The connection is then safe for concurrent use.
	sp, err := saml.New(ctx, saml.Config{
		ID:             "acme",
		EntityID:       "https://app.example.com/saml/acme/metadata",
		ACSURL:         "https://app.example.com/saml/acme/acs",
		IdPMetadataXML: idp.Metadata(), // uploaded or pasted by the administrator
	})
	if err != nil {
		log.Fatal(err)
	}

	// GET /login/sso: start the login. The binding value goes into an
	// HttpOnly cookie (SameSite=None, since the IdP POSTs back cross-site).
	binding := sso.NewBinding()
	step, err := sp.Begin(ctx, sso.BeginRequest{Binding: binding, ReturnTo: "/dashboard"})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("step:", step.Kind) // step.Write(w, r) sends the browser on

	// The user logs in at the IdP, which posts a signed response to the ACS.
	_, form, err := idp.RespondTo(step, samltest.ResponseOptions{User: "alice@example.com"})
	if err != nil {
		log.Fatal(err)
	}

	// POST /saml/acme/acs: r.PostForm and the binding cookie.
	id, err := sp.Complete(ctx, sso.CompleteRequest{Binding: binding, Params: form})
	if err != nil {
		log.Fatal(err) // an *sso.Error: sso.ReasonOf(err), err.Detail for admins
	}
	fmt.Println("subject:", id.Subject)
	fmt.Println("email:", id.Email)
	fmt.Println("groups:", id.Groups)
	fmt.Println("return to:", id.ReturnTo)
	// Output:
	// step: redirect
	// subject: alice@example.com
	// email: alice@example.com
	// groups: [admins staff]
	// return to: /dashboard
}

// CheckMetadata tells an administrator what is wrong with IdP metadata
// before any connection exists.
func ExampleCheckMetadata() {
	idp, err := samltest.NewServer(samltest.Config{EntityID: "https://idp.example.com/metadata"})
	if err != nil {
		log.Fatal(err)
	}
	defer idp.Close()
	report := saml.CheckMetadata(idp.Metadata(), saml.CheckOptions{})
	fmt.Println("ok:", report.OK())
	fmt.Println("entity:", report.EntityID)

	report = saml.CheckMetadata([]byte(`<md:EntityDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata" entityID="https://idp.example.com/">
  <md:IDPSSODescriptor protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol">
    <md:SingleSignOnService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect" Location="https://idp.example.com/sso"/>
  </md:IDPSSODescriptor>
</md:EntityDescriptor>`), saml.CheckOptions{})
	fmt.Println("ok:", report.OK())
	for _, p := range report.Problems {
		fmt.Println(p.Severity+":", p.Detail)
	}
	// Output:
	// ok: true
	// entity: https://idp.example.com/metadata
	// ok: false
	// error: no signing certificate: add a KeyDescriptor (use="signing") with an X509Certificate, or configure the certificate by hand
	// warning: no SingleSignOnService with the HTTP-POST binding; requests will use HTTP-Redirect
	// info: the metadata lists no NameIDFormat; the IdP chooses the format
	// info: no SingleLogoutService: logout ends only the application's session (configure a logout redirect URL if the IdP has a logout page)
}

// A connection configured by hand from what the IdP's console shows: the
// entity ID, the SSO URL and the certificate, pasted as base64 without
// BEGIN/END lines. IdP-initiated logins are allowed.
func ExampleNew_byHand() {
	idp, err := samltest.NewServer(samltest.Config{
		ServiceProviders: []samltest.ServiceProvider{{EntityID: "https://app.example.com/saml/acme/metadata", ACSURL: "https://app.example.com/saml/acme/acs"}}})
	if err != nil {
		log.Fatal(err)
	}
	defer idp.Close()
	pasted := idp.CertificatePEM()[len("-----BEGIN CERTIFICATE-----\n") : len(idp.CertificatePEM())-len("-----END CERTIFICATE-----\n")]

	sp, err := saml.New(context.Background(), saml.Config{
		ID:                "acme",
		EntityID:          "https://app.example.com/saml/acme/metadata",
		ACSURL:            "https://app.example.com/saml/acme/acs",
		IdPEntityID:       idp.EntityID(),
		IdPSSOURL:         idp.SSOURL(),
		IdPCertificates:   [][]byte{pasted},
		AllowIdPInitiated: true,
		SubjectAttribute:  "UID",
		ClockSkew:         2 * time.Minute,
	})
	if err != nil {
		log.Fatal(err)
	}
	enc, _ := idp.EncodedResponse(samltest.ResponseOptions{User: "bob@example.com", Attributes: map[string][]string{"UID": {"B-42"}}})
	id, err := sp.Complete(context.Background(), sso.CompleteRequest{Params: map[string][]string{"SAMLResponse": {enc}, "RelayState": {"/inbox"}}})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(id.Subject, id.IdPInitiated, id.ReturnTo)
	// Output: B-42 true /inbox
}
