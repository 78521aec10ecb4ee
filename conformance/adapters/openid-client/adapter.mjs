// JSON-lines adapter (ADAPTERS.md, protocol 2) for openid-client (npm, pinned by
// package-lock.json), used the way its README shows: a client.Configuration, the authorization
// code flow with PKCE (buildAuthorizationUrl, authorizationCodeGrant), fetchProtectedResource
// with the access token, refreshTokenGrant to refresh, genericGrantRequest for the password
// grant. openid-client keeps no tokens and never refreshes by itself: the application stores the
// token endpoint response and refreshes when the response's expiresIn() helper says 0 seconds
// are left — the few lines every application writes. The adapter adds nothing more: no lock
// around parallel refreshes, no refresh on a 401, no dropping of a refresh token the server
// rejected.
//
// With --fix (`--client openid-client+fix`) it adds what COMPATIBILITY.md recommends, the code
// between the 2ba-fix markers, as an application would: TwoBATokens keeps and refreshes the tokens.
import * as client from 'openid-client';
import { readFileSync, writeFileSync, existsSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { createRequire } from 'node:module';
import { HttpStatus, Relogin, Timeout, emit, loopbackRedirect, serve } from '../jsonl_protocol.mjs';

const require = createRequire(import.meta.url);
const libVersion = require('openid-client/package.json').version;

// The client's clock. openid-client reads the time with Date.now() (expiresIn() of a token
// endpoint response: Date.now() + expires_in when received, compared with Date.now() when
// asked), so advance_time moves Date.now() for this process.
let clockOffsetMs = 0;
const realNow = Date.now;
Date.now = () => realNow() + clockOffsetMs;

const fix = process.argv.includes('--fix');

// 2ba-fix:begin
// Needs: import * as client from 'openid-client';
// What openid-client leaves to the application, for 2BA: one refresh at a time shared by
// parallel callers, a refresh and one retry after a 401, the old refresh token kept when the
// response carries none, and a refresh token that 2BA refused (400) dropped.
class LoginRequired extends Error {}

class TwoBATokens {
  constructor(config, store) {
    this.config = config;
    this.store = store; // the application's storage: { load(), save(tokens), remove() }
    this.tokens = store.load(); // { access_token, refresh_token, expiresAt } or null
    this.refreshing = null; // the refresh in flight, shared by parallel callers
  }

  keep(response, previous = null) { // after a login, or a refresh (previous: the tokens it replaces)
    const left = response.expiresIn();
    this.tokens = {
      access_token: response.access_token,
      refresh_token: response.refresh_token ?? previous?.refresh_token, // none back: keep the old one
      expiresAt: left === undefined ? null : Date.now() + left * 1000,
    };
    this.store.save(this.tokens);
  }

  refresh(seenAccessToken) {
    if (!this.tokens?.refresh_token) return Promise.reject(new LoginRequired());
    if (this.tokens.access_token !== seenAccessToken) return Promise.resolve(); // another caller did
    this.refreshing ??= (async () => {
      try {
        this.keep(await client.refreshTokenGrant(this.config, this.tokens.refresh_token), this.tokens);
      } catch (e) {
        if ((e instanceof client.ResponseBodyError ? e.status : e?.cause?.status) === 400) {
          this.tokens = null; // the refresh token is dead: log in again
          this.store.remove();
          throw new LoginRequired();
        }
        throw e; // 5xx, 429, network: keep the tokens
      } finally {
        this.refreshing = null;
      }
    })();
    return this.refreshing;
  }

  async get(url) {
    if (!this.tokens) throw new LoginRequired();
    if (this.tokens.expiresAt !== null && Date.now() >= this.tokens.expiresAt) {
      await this.refresh(this.tokens.access_token);
    }
    const seen = this.tokens.access_token;
    let res = null;
    try {
      res = await client.fetchProtectedResource(this.config, seen, new URL(url), 'GET');
    } catch (e) {
      if (!(e instanceof client.WWWAuthenticateChallengeError)) throw e;
    }
    if (res && res.status !== 401) return res;
    await this.refresh(seen); // 401: revoked early, or no expires_in; one refresh, one retry
    return client.fetchProtectedResource(this.config, this.tokens.access_token, new URL(url), 'GET');
  }
}
// 2ba-fix:end


class Adapter {
  constructor(cfg) {
    this.cfg = cfg;
    this.path = join(cfg.state_dir, 'tokens.json');
    // 2BA's token and authorize URLs as the kit gives them (its /OAuth/Token), with the
    // capabilities the mock's discovery document advertises (PKCE S256).
    const issuer = cfg.token_url.replace(/\/OAuth\/Token$/i, '');
    const server = {
      issuer,
      token_endpoint: cfg.token_url,
      authorization_endpoint: cfg.authorize_url,
      code_challenge_methods_supported: ['S256'],
    };
    let auth = client.None();
    if (cfg.client_secret) {
      auth = cfg.client_auth === 'basic' ? client.ClientSecretBasic(cfg.client_secret)
        : client.ClientSecretPost(cfg.client_secret);
    }
    this.config = new client.Configuration(server, cfg.client_id, undefined, auth);
    if (cfg.token_url.startsWith('http:')) client.allowInsecureRequests(this.config);
    if (cfg.ca_file) {
      // The customFetch documentation's way to change how requests are made: undici's fetch
      // with an Agent that trusts the given CAs.
      const undici = require('undici');
      const agent = new undici.Agent({ connect: { ca: readFileSync(cfg.ca_file) } });
      this.config[client.customFetch] = (url, options) => undici.fetch(url, { ...options, dispatcher: agent });
    }
    this.tokens = null; // { response: TokenEndpointResponse, expiresAt: ms or null }
    if (fix) {
      const path = this.path;
      this.fixed = new TwoBATokens(this.config, {
        load: () => (existsSync(path) ? JSON.parse(readFileSync(path, 'utf8')) : null),
        save: (tokens) => writeFileSync(path, JSON.stringify(tokens)),
        remove: () => rmSync(path, { force: true }),
      });
    } else if (existsSync(this.path)) this.tokens = JSON.parse(readFileSync(this.path, 'utf8'));
  }

  keep(response) {
    if (this.fixed) return this.fixed.keep(response);
    const left = response.expiresIn();
    this.tokens = { response, expiresAt: left === undefined ? null : Date.now() + left * 1000 };
    writeFileSync(this.path, JSON.stringify(this.tokens));
  }

  expired() {
    return this.tokens.expiresAt !== null && Date.now() >= this.tokens.expiresAt;
  }

  async loginPassword(username, password) {
    this.keep(await client.genericGrantRequest(this.config, 'password', { username, password, ...this.scope() }));
  }

  scope() {
    return this.cfg.scope ? { scope: this.cfg.scope } : {};
  }

  async refresh() {
    if (this.fixed) return this.fixed.refresh(this.fixed.tokens?.access_token);
    if (!this.tokens) throw new Relogin();
    this.keep(await client.refreshTokenGrant(this.config, this.tokens.response.refresh_token));
  }

  async call(path) {
    const base = this.cfg.product_api_base || this.cfg.api_base;
    if (!this.fixed && !this.tokens) throw new Relogin();
    if (!this.fixed && this.expired()) await this.refresh();
    const res = this.fixed ? await this.fixed.get(base + path)
      : await client.fetchProtectedResource(this.config, this.tokens.response.access_token, new URL(base + path), 'GET');
    await res.arrayBuffer();
    if (!res.ok) throw new HttpStatus(res.status);
  }

  async loginCode() {
    const codeVerifier = client.randomPKCECodeVerifier();
    let state;
    const { url } = await loopbackRedirect(async (redirectUri) => {
      const parameters = {
        redirect_uri: redirectUri,
        code_challenge: await client.calculatePKCECodeChallenge(codeVerifier),
        code_challenge_method: 'S256',
        ...this.scope(),
      };
      if (!this.config.serverMetadata().supportsPKCE()) {
        state = client.randomState();
        parameters.state = state;
      }
      emit({ event: 'authorize', url: client.buildAuthorizationUrl(this.config, parameters).href });
    });
    this.keep(await client.authorizationCodeGrant(this.config, url,
      { pkceCodeVerifier: codeVerifier, expectedState: state }));
  }
}

// The error member of a reply for an error of openid-client, oauth4webapi, fetch or the adapter.
function errorReply(e) {
  const message = `${e.name}: ${e.message}${e.cause?.message ? ` (${e.cause.message})` : ''}`;
  let kind = 'other';
  if (e instanceof Relogin || e instanceof LoginRequired) kind = 'relogin_required';
  else if (e instanceof Timeout) kind = 'timeout';
  else if (e instanceof client.AuthorizationResponseError) kind = e.error === 'access_denied' ? 'access_denied' : 'oauth';
  else if (e instanceof client.ResponseBodyError) kind = e.status >= 500 ? 'server' : e.error === 'invalid_grant' ? 'relogin_required' : 'oauth';
  else if (e instanceof client.WWWAuthenticateChallengeError) kind = 'oauth';
  else if (e instanceof HttpStatus) kind = e.status >= 500 ? 'server' : 'oauth';
  else if (e instanceof client.ClientError) {
    if (/state/.test(e.message) || /state/.test(e.cause?.message ?? '')) kind = 'state_mismatch';
    else if (e.code === 'OAUTH_RESPONSE_IS_NOT_CONFORM') kind = e.cause?.status >= 500 ? 'server' : 'oauth';
    else if (e.code === 'OAUTH_PARSE_ERROR' || e.code === 'OAUTH_RESPONSE_IS_NOT_JSON') kind = 'parse';
    else kind = 'oauth';
  } else if (e instanceof TypeError && e.message === 'fetch failed') kind = 'transport';
  return { kind, message };
}

serve({
  start: (config) => new Adapter(config),
  advanceTime: (seconds) => { clockOffsetMs += seconds * 1000; },
  errorReply,
  implementation: {
    name: 'openid-client', version: libVersion, language: 'javascript', node: process.version,
    homepage: 'https://github.com/panva/openid-client', issues: 'https://github.com/panva/openid-client/issues',
  },
});
