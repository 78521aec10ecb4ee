// JSON-lines adapter (ADAPTERS.md, protocol 2) for simple-oauth2 5.x (npm, pinned by
// package-lock.json), used the way its README shows: ResourceOwnerPassword.getToken() for the
// password grant, AuthorizationCode.authorizeURL() and getToken() for the code flow, the access
// token persisted as JSON.stringify(accessToken) and read back with createToken(), and before
// each API call `if (accessToken.expired()) accessToken = await accessToken.refresh()`.
// simple-oauth2 makes no API calls itself: the application sends the Bearer token with Node's
// http(s) module. The adapter adds nothing more: no lock around parallel refreshes, no refresh
// on a 401, no dropping of a refresh token the server rejected.
//
// --fix switches on what the compatibility page recommends (between the 2ba-fix markers).
import { randomBytes } from 'node:crypto';
import { readFileSync, writeFileSync, existsSync, rmSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import { join } from 'node:path';
import { createRequire } from 'node:module';
import { HttpStatus, Relogin, Timeout, emit, loopbackRedirect, serve } from '../jsonl_protocol.mjs';

const require = createRequire(import.meta.url);
const { ResourceOwnerPassword, AuthorizationCode } = require('simple-oauth2');
const libVersion = require('simple-oauth2/package.json').version;
const withFix = process.argv.includes('--fix');

// The client's clock. simple-oauth2 reads the time with Date.now() (expires_at = Date.now() +
// expires_in in lib/access-token-parser.js, expired() compares with Date.now()), so
// advance_time moves Date.now() for this process.
let clockOffsetMs = 0;
const realNow = Date.now;
Date.now = () => realNow() + clockOffsetMs;


class Adapter {
  constructor(cfg) {
    this.cfg = cfg;
    this.path = join(cfg.state_dir, 'token.json');
    const token = new URL(cfg.token_url);
    this.agent = cfg.ca_file ? new https.Agent({ ca: readFileSync(cfg.ca_file) }) : undefined;
    this.config = {
      client: { id: cfg.client_id, secret: cfg.client_secret ?? undefined },
      auth: { tokenHost: token.origin, tokenPath: token.pathname },
      // The documented option (API.md) for credentials in the body, 2BA's way; its default is Basic.
      options: { authorizationMethod: cfg.client_auth === 'basic' ? 'header' : 'body' },
      http: this.agent ? { agent: this.agent } : {},
    };
    this.password = new ResourceOwnerPassword(this.config);
    this.accessToken = existsSync(this.path)
      ? this.password.createToken(JSON.parse(readFileSync(this.path, 'utf8'))) : null;
  }

  keep(accessToken) {
    this.accessToken = accessToken;
    writeFileSync(this.path, JSON.stringify(accessToken));
  }

  scope() {
    return this.cfg.scope ? { scope: this.cfg.scope } : {};
  }

  async loginPassword(username, password) {
    this.keep(await this.password.getToken({ username, password, ...this.scope() }));
  }

  async refresh() {
    if (!this.accessToken) throw new Relogin();
    this.keep(await this.accessToken.refresh());
  }

  async call(path) {
    if (!this.accessToken) throw new Relogin();
    if (this.accessToken.expired()) await this.refresh();
    const status = await this.get(path);
    if (status >= 400) throw new HttpStatus(status);
  }

  // GET product_api_base + path with the Bearer token; the response status.
  get(path) {
    const url = new URL((this.cfg.product_api_base || this.cfg.api_base) + path);
    const headers = { Authorization: `Bearer ${this.accessToken.token.access_token}` };
    return new Promise((resolve, reject) => {
      const req = (url.protocol === 'https:' ? https : http).get(url, { agent: this.agent, headers }, (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode));
      });
      req.on('error', reject);
    });
  }

  async loginCode() {
    const authorize = new URL(this.cfg.authorize_url);
    const client = new AuthorizationCode({
      ...this.config,
      auth: { ...this.config.auth, authorizeHost: authorize.origin, authorizePath: authorize.pathname },
    });
    const state = randomBytes(16).toString('base64url');
    const { redirectUri, url } = await loopbackRedirect((redirectUri) =>
      emit({ event: 'authorize', url: client.authorizeURL({ redirect_uri: redirectUri, state, ...this.scope() }) }));
    // simple-oauth2 leaves reading the redirect to the application (the README: "the
    // application will get the authorization code from the URL").
    const query = url.searchParams;
    if (query.get('error')) throw new Redirect(query.get('error'));
    if (query.get('state') !== state) throw new Redirect('state_mismatch');
    this.keep(await client.getToken({ code: query.get('code'), redirect_uri: redirectUri, ...this.scope() }));
  }
}

// 2ba-fix:begin
// What an application adds to simple-oauth2 for 2BA: one refresh at a time (parallel callers
// share it), the current refresh token kept when the reply carries none (refresh() in
// lib/access-token.js sets it to undefined), the tokens dropped after a 400 (the refresh token
// is dead: the user must log in again), and after a 401 one refresh and one retry (2BA can end
// a token before its expires_in, and without expires_in expired() never says true).
class FixedAdapter extends Adapter {
  refresh(seen = this.accessToken?.token.access_token) {
    if (!this.accessToken) return Promise.reject(new Relogin());
    if (this.accessToken.token.access_token !== seen) return Promise.resolve(); // refreshed meanwhile
    this.refreshing ??= this.accessToken.refresh().then((fresh) => {
      const refresh_token = fresh.token.refresh_token ?? this.accessToken.token.refresh_token;
      this.keep(this.password.createToken({ ...fresh.token, refresh_token }));
    }, (e) => {
      if (e.data?.res?.statusCode === 400) {
        this.accessToken = null;
        rmSync(this.path, { force: true });
        throw new Relogin();
      }
      throw e;
    }).finally(() => { this.refreshing = null; });
    return this.refreshing;
  }

  async call(path) {
    if (!this.accessToken) throw new Relogin();
    if (this.accessToken.expired()) await this.refresh();
    const seen = this.accessToken.token.access_token;
    let status = await this.get(path);
    if (status === 401) {
      await this.refresh(seen);
      status = await this.get(path);
    }
    if (status >= 400) throw new HttpStatus(status);
  }
}
// 2ba-fix:end

class Redirect extends Error {}

// The error member of a reply for an error of simple-oauth2 (a Boom error from @hapi/wreck),
// Node's http or the adapter.
function errorReply(e) {
  const message = `${e.name}: ${e.message}${e.data?.payload ? ` ${JSON.stringify(e.data.payload)}` : ''}`;
  const status = e.data?.res?.statusCode ?? e.status;
  let kind = 'other';
  if (e instanceof Relogin) kind = 'relogin_required';
  else if (e instanceof Timeout) kind = 'timeout';
  else if (e instanceof Redirect) kind = e.message === 'access_denied' || e.message === 'state_mismatch' ? e.message : 'oauth';
  else if (e.isBoom && !e.data?.res) kind = 'transport'; // Wreck's "Client request error"
  else if (status >= 500) kind = 'server';
  else if (e.data?.payload?.error === 'invalid_grant') kind = 'relogin_required';
  else if (status) kind = 'oauth';
  else if (e.code === 'ECONNREFUSED' || e.code?.startsWith?.('ERR_TLS') || e.code === 'DEPTH_ZERO_SELF_SIGNED_CERT') kind = 'transport';
  return { kind, message };
}

serve({
  start: (config) => new (withFix ? FixedAdapter : Adapter)(config),
  advanceTime: (seconds) => { clockOffsetMs += seconds * 1000; },
  errorReply,
  implementation: {
    name: withFix ? 'simple-oauth2+fix' : 'simple-oauth2', version: libVersion, language: 'javascript', node: process.version,
    homepage: 'https://github.com/lelylan/simple-oauth2', issues: 'https://github.com/lelylan/simple-oauth2/issues',
  },
});
