// server.mjs — panva's oidc-provider (an OpenID Certified OpenID Provider),
// configured for Gatehouse's end-to-end tests and served on 127.0.0.1 only.
// scripts/services.sh installs the pinned package (npm ci) and starts it;
// the e2e tests (e2e/*panva*_test.go) drive it over HTTP like any relying
// party would.
//
// Environment:
//
//   OIDCOP_PORT                 port on 127.0.0.1 (required); the issuer is
//                               http://127.0.0.1:PORT
//   OIDCOP_CLIENT_ID            the static test client (client_secret_basic)
//   OIDCOP_CLIENT_SECRET
//   OIDCOP_REGISTRATION_TOKEN   initial access token for dynamic client
//                               registration (RFC 7591) at /reg; it also
//                               guards the test event log at /__test/events
//   OIDCOP_ACCESS_TOKEN_TTL     access token lifetime in seconds (default 8);
//                               a registered client may set its own with the
//                               extra metadata "access_token_ttl"
//
// Clients. The tests' Gatehouse instances listen on kernel-chosen ports, so:
//
//   - the static client is a native application (OpenID Connect Dynamic
//     Client Registration §2 application_type) whose redirect and
//     post-logout URIs are http://127.0.0.1/auth/oidc/{callback,logged-out};
//     oidc-provider matches those on any port, as RFC 8252 §7.3 says for
//     loopback redirects;
//   - a test that needs an exact URI on its own port (the back-channel
//     logout URI, a short token lifetime, an event log of its own) registers
//     a client of its own at /reg with OIDCOP_REGISTRATION_TOKEN.
//
// Behaviour the tests rely on: devInteractions (the built-in login and
// consent forms; any login and password are accepted and the login becomes
// the subject), PKCE (S256) required for every client, a refresh token for
// every client allowed the refresh_token grant, rotated at each use
// (rotateRefreshToken), with oidc-provider's reuse detection (presenting a
// consumed refresh token revokes the whole grant), revocation, RP-initiated
// logout, back-channel logout, and the email and profile claims.
//
// Node's HTTP server keeps its default keep-alive timeout (5 s): Gatehouse
// must cope with the OP closing idle connections, as with any Node OP.
//
// Every event the tests count (token grants, consumed refresh tokens,
// revoked grants, back-channel deliveries, ...) is written as one JSON line
// to stdout and kept in memory, served as JSON at
// GET /__test/events?client_id=ID (Authorization: Bearer
// OIDCOP_REGISTRATION_TOKEN). GET /__test/stall?ms=N (same token) keeps the
// OP busy for N ms, to put a refresh right where Node closes an idle
// connection.

import { generateKeyPairSync, randomBytes, timingSafeEqual } from 'node:crypto';
import process from 'node:process';

import Provider from 'oidc-provider';
import MemoryAdapter from 'oidc-provider/lib/adapters/memory_adapter.js';

const env = process.env;
const host = '127.0.0.1';

function die(msg) {
  console.error(`oidcop: ${msg}`);
  process.exit(2);
}

function required(name) {
  const v = env[name];
  if (!v) die(`${name} is required`);
  return v;
}

const port = Number.parseInt(required('OIDCOP_PORT'), 10);
if (!(port > 0 && port < 65536)) die(`OIDCOP_PORT=${env.OIDCOP_PORT} is not a port`);
const clientID = required('OIDCOP_CLIENT_ID');
const clientSecret = required('OIDCOP_CLIENT_SECRET');
const registrationToken = required('OIDCOP_REGISTRATION_TOKEN');
const accessTTL = Number.parseInt(env.OIDCOP_ACCESS_TOKEN_TTL || '8', 10);
if (!(accessTTL > 0)) die(`OIDCOP_ACCESS_TOKEN_TTL=${env.OIDCOP_ACCESS_TOKEN_TTL} is not a positive number of seconds`);

const issuer = `http://${host}:${port}`;

// ExpiringStore is the Map-like store oidc-provider's MemoryAdapter uses,
// without the LRU's size bound: an OP that runs for a whole test suite must
// not forget a live grant because other tests made many tokens.
class ExpiringStore {
  #m = new Map();

  get(key) {
    const e = this.#m.get(key);
    if (e === undefined) return undefined;
    if (e.expiry !== undefined && e.expiry <= Date.now()) {
      this.#m.delete(key);
      return undefined;
    }
    return e.value;
  }

  set(key, value, options) {
    const maxAge = options?.maxAge;
    this.#m.set(key, { value, expiry: typeof maxAge === 'number' ? Date.now() + maxAge : undefined });
  }

  delete(key) {
    this.#m.delete(key);
  }

  sweep() {
    const now = Date.now();
    for (const [k, e] of this.#m) {
      if (e.expiry !== undefined && e.expiry <= now) this.#m.delete(k);
    }
  }
}

const store = new ExpiringStore();
setInterval(() => store.sweep(), 60_000).unref();

// The test event log: bounded, newest last.
const maxEvents = 50_000;
const events = [];
function record(name, fields) {
  const e = { event: name, at: new Date().toISOString(), ...fields };
  events.push(e);
  if (events.length > maxEvents) events.splice(0, events.length - maxEvents);
  process.stdout.write(`${JSON.stringify(e)}\n`);
}

function accountOf(ctx) {
  const ent = ctx?.oidc?.entities ?? {};
  return ent.Account?.accountId ?? ent.RefreshToken?.accountId ?? ent.AuthorizationCode?.accountId;
}

// The user: any login, as devInteractions accepts it, with the email and
// profile claims derived from it.
async function findAccount(_ctx, id) {
  return {
    accountId: id,
    async claims() {
      return {
        sub: id,
        email: `${id}@example.test`,
        email_verified: true,
        name: `Test User ${id}`,
        given_name: 'Test',
        family_name: `User ${id}`,
        preferred_username: id,
      };
    },
  };
}

const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
const signingKey = { ...privateKey.export({ format: 'jwk' }), kid: `rs-${randomBytes(6).toString('hex')}`, use: 'sig', alg: 'RS256' };

function positiveSeconds(v) {
  return Number.isInteger(v) && v > 0 && v <= 86400;
}

const configuration = {
  adapter: (name) => new MemoryAdapter(name, store),
  clients: [{
    client_id: clientID,
    client_secret: clientSecret,
    application_type: 'native',
    token_endpoint_auth_method: 'client_secret_basic',
    grant_types: ['authorization_code', 'refresh_token'],
    response_types: ['code'],
    redirect_uris: [`http://${host}/auth/oidc/callback`],
    post_logout_redirect_uris: [`http://${host}/auth/oidc/logged-out`],
  }],
  claims: {
    openid: ['sub'],
    email: ['email', 'email_verified'],
    profile: ['name', 'given_name', 'family_name', 'preferred_username'],
  },
  cookies: { keys: [randomBytes(32).toString('base64url')] },
  extraClientMetadata: {
    properties: ['access_token_ttl'],
    validator(_ctx, key, value) {
      if (key === 'access_token_ttl' && value !== undefined && !positiveSeconds(value)) {
        throw new Error('access_token_ttl must be a whole number of seconds between 1 and 86400');
      }
    },
  },
  features: {
    devInteractions: { enabled: true },
    revocation: { enabled: true },
    rpInitiatedLogout: { enabled: true },
    backchannelLogout: { enabled: true },
    registration: { enabled: true, initialAccessToken: registrationToken },
  },
  // oidc-provider refuses outgoing requests (back-channel logout tokens)
  // to special-use addresses such as loopback, against SSRF. The tests'
  // Gatehouse instances are on 127.0.0.1, so their loopback URLs alone
  // are let through; every other destination keeps the protection.
  fetch(url, options) {
    const { hostname } = new URL(url);
    if (['127.0.0.1', 'localhost', '[::1]'].includes(hostname)) {
      const { dispatcher: _ssrfGuard, ...rest } = options;
      return globalThis.fetch(url, rest);
    }
    return globalThis.fetch(url, options);
  },
  findAccount,
  issueRefreshToken: async (_ctx, client) => client.grantTypeAllowed('refresh_token'),
  jwks: { keys: [signingKey] },
  pkce: { required: () => true },
  rotateRefreshToken: true,
  ttl: {
    AccessToken: (_ctx, _token, client) => client?.access_token_ttl ?? accessTTL,
  },
};

const provider = new Provider(issuer, configuration);

provider.on('grant.success', (ctx) => record('grant.success', {
  grant_type: ctx.oidc.params?.grant_type, client_id: ctx.oidc.client?.clientId, account: accountOf(ctx),
}));
provider.on('grant.error', (ctx, err) => record('grant.error', {
  grant_type: ctx.oidc.params?.grant_type, client_id: ctx.oidc.client?.clientId, account: accountOf(ctx),
  error: err.error, error_description: err.error_description,
}));
provider.on('grant.revoked', (ctx, grantId) => record('grant.revoked', {
  client_id: ctx.oidc?.client?.clientId, grant_id: grantId,
}));
provider.on('refresh_token.consumed', (token) => record('refresh_token.consumed', {
  client_id: token.clientId, account: token.accountId,
}));
provider.on('authorization.success', (ctx) => record('authorization.success', {
  client_id: ctx.oidc.client?.clientId,
}));
provider.on('end_session.success', (ctx) => record('end_session.success', {
  client_id: ctx.oidc.client?.clientId,
}));
provider.on('backchannel.success', (_ctx, client, accountId, sid) => record('backchannel.success', {
  client_id: client.clientId, account: accountId, sid,
}));
provider.on('backchannel.error', (_ctx, err, client, accountId, sid) => record('backchannel.error', {
  client_id: client.clientId, account: accountId, sid,
  error: [err?.message ?? err, err?.cause?.message].filter(Boolean).join(': '),
}));
provider.on('server_error', (ctx, err) => record('server_error', {
  path: ctx.path, error: String(err?.stack ?? err),
}));

function bearerOK(header) {
  const want = Buffer.from(`Bearer ${registrationToken}`);
  const got = Buffer.from(header ?? '');
  return got.length === want.length && timingSafeEqual(got, want);
}

// The test endpoints, both behind the registration token:
//
//   GET /__test/events?client_id=ID   the event log (of one client)
//   GET /__test/stall?ms=N            blocks this process's event loop for N
//                                     ms (at most 5000) and then answers, as
//                                     a busy OP would: connections whose
//                                     keep-alive timer expires meanwhile are
//                                     closed when the loop resumes, before
//                                     requests that arrived on them are read
provider.use(async (ctx, next) => {
  if (ctx.path !== '/__test/events' && ctx.path !== '/__test/stall') {
    await next();
    return;
  }
  if (ctx.method !== 'GET') {
    ctx.status = 405;
    return;
  }
  if (!bearerOK(ctx.get('authorization'))) {
    ctx.status = 401;
    ctx.body = { error: 'invalid_token' };
    return;
  }
  ctx.set('cache-control', 'no-store');
  if (ctx.path === '/__test/stall') {
    const ms = Number.parseInt(ctx.query.ms ?? '', 10);
    if (!(ms > 0 && ms <= 5000)) {
      ctx.status = 400;
      ctx.body = { error: 'ms must be 1..5000' };
      return;
    }
    record('stall', { ms });
    const end = Date.now() + ms;
    while (Date.now() < end) {
      // busy: nothing else runs in this process meanwhile
    }
    ctx.body = { stalled_ms: ms };
    return;
  }
  const cid = ctx.query.client_id;
  ctx.body = cid ? events.filter((e) => e.client_id === cid) : events;
});

const server = provider.listen(port, host, () => {
  process.stdout.write(`${JSON.stringify({ event: 'listening', issuer, access_token_ttl: accessTTL })}\n`);
});
server.on('error', (err) => die(`listen ${host}:${port}: ${err.message}`));

function shutdown() {
  server.close(() => process.exit(0));
  server.closeAllConnections?.();
  setTimeout(() => process.exit(0), 2000).unref();
}
process.on('SIGTERM', shutdown);
process.on('SIGINT', shutdown);
