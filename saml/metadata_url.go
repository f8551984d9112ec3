package saml

import (
	"context"

	"github.com/ssokit/sso"
)

// startMetadataURL fetches the IdP metadata from cfg.IdPMetadataURL and
// starts its background refresh.
func (sp *ServiceProvider) startMetadataURL(ctx context.Context) (*idpState, error) {
	return nil, sp.errorf("saml.New", sso.ReasonMetadataFetchFailed, "metadata URLs are not available yet", nil)
}
