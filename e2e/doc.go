// Package e2e holds Gatehouse's end-to-end tests: black-box runs of the
// library against real loopback servers, real stores, a real browser and an
// authorization server nobody on the project wrote. It has no API of its
// own; the reusable test harness (fault-injecting proxies, environment
// helpers, log capture, leak scanning, goroutine baselines) lives in
// e2e/internal/harness.
//
// Environment:
//
//   - GATEHOUSE_REDIS_ADDR (host:port) and GATEHOUSE_POSTGRES_DSN enable the
//     store suites; without them those tests skip, except under CI=true,
//     where they fail.
//   - GATEHOUSE_CHROMIUM overrides the browser path (default
//     /usr/bin/chromium), with the same skip/fail rule.
//   - GATEHOUSE_OIDC_ISSUER, GATEHOUSE_OIDC_CLIENT_ID,
//     GATEHOUSE_OIDC_CLIENT_SECRET and GATEHOUSE_OIDC_REGISTRATION_TOKEN
//     name the test OpenID Provider (panva's oidc-provider, pinned in
//     e2e/oidcop, run by scripts/services.sh) that the TestPanvaOP_ tests
//     log in with; same skip/fail rule.
package e2e
