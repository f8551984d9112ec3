package e2e

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/ssokit/sso/saml/samltest"
)

// BenchmarkReplicas drives full SP-initiated SAML logins (the login page,
// the mock IdP's page, the signed response posted to the ACS, then /me)
// through a round-robin load balancer in front of 1, 2 and 4 replicas of
// the demo, on PostgreSQL with and without Redis. It reports logins a
// second and the stores' round trips per login, summed over the replicas:
// SQL statements (BEGIN and COMMIT count) and Redis commands. Everything
// (the replicas, the IdP, the stores, the client) runs on this machine,
// so the figures compare the replica counts with each other, not with a
// deployment.
func BenchmarkReplicas(b *testing.B) {
	for _, stores := range []string{"postgres+redis", "postgres"} {
		for _, n := range []int{1, 2, 4} {
			b.Run(fmt.Sprintf("stores=%s/replicas=%d", stores, n), func(b *testing.B) {
				c := startCluster(b, n, stores == "postgres+redis", time.Hour)
				// One login first, so that every connection is warm.
				if err := benchLogin(c); err != nil {
					b.Fatal(err)
				}
				var sql0, redis0 int64
				for _, a := range c.apps {
					rt := a.RoundTrips()
					sql0, redis0 = sql0+rt.SQL, redis0+rt.Redis
				}
				b.SetParallelism(4)
				b.ResetTimer()
				b.RunParallel(func(pb *testing.PB) {
					for pb.Next() {
						if err := benchLogin(c); err != nil {
							b.Error(err)
							return
						}
					}
				})
				b.StopTimer()
				var sql1, redis1 int64
				for _, a := range c.apps {
					rt := a.RoundTrips()
					sql1, redis1 = sql1+rt.SQL, redis1+rt.Redis
				}
				b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "logins/s")
				b.ReportMetric(float64(sql1-sql0)/float64(b.N), "sql-trips/login")
				b.ReportMetric(float64(redis1-redis0)/float64(b.N), "redis-trips/login")
			})
		}
	}
}

// benchLogin runs one SP-initiated SAML login through the load balancer
// in a new browser.
func benchLogin(c *cluster) error {
	jar, _ := cookiejar.New(nil)
	h := &http.Client{Jar: jar, Timeout: 30 * time.Second, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := h.Get(c.rr.URL() + "/login/sso/grantmakers")
	if err != nil {
		return err
	}
	drain(resp)
	loc := resp.Header.Get("Location")
	if resp.StatusCode != http.StatusSeeOther || loc == "" {
		return fmt.Errorf("the login page answered %d", resp.StatusCode)
	}
	acs, form, err := samltest.LoginAs(h, loc, "greg@grantmakers.example", "")
	if err != nil {
		return err
	}
	req, _ := http.NewRequest(http.MethodPost, acs, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Origin", c.apps[0].SAMLURL())
	req.Header.Set("Sec-Fetch-Site", "cross-site")
	if resp, err = h.Do(req); err != nil {
		return err
	}
	drain(resp)
	if resp.StatusCode != http.StatusSeeOther {
		return fmt.Errorf("the ACS answered %d", resp.StatusCode)
	}
	u, _ := url.Parse(c.rr.URL() + "/me")
	if resp, err = h.Get(u.String()); err != nil {
		return err
	}
	drain(resp)
	if resp.StatusCode != http.StatusOK {
		return errors.New("/me after the login: " + resp.Status)
	}
	return nil
}

func drain(resp *http.Response) {
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
}
