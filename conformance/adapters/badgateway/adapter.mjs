// JSON-lines adapter (ADAPTERS.md, protocol 2) for @badgateway/oauth2-client (npm, pinned by
// package-lock.json), used the way its README shows: an OAuth2Client with the token and
// authorize endpoints, password() and authorizationCode.getTokenFromCodeRedirect() for the
// logins, and an OAuth2Fetch wrapper that adds the Bearer token, refreshes on its own timer one
// minute before expiry and when a token has expired, refreshes and retries once after a 401,
// keeps one refresh in flight, and hands every new token to storeToken (a file in state_dir)
// and reads it back with getStoredToken. getNewToken supplies the login the user just made and
// otherwise returns null, as the README says to when the user must log in again.
//
// --fix switches on what the compatibility page recommends (between the 2ba-fix markers).
import { OAuth2Client, OAuth2Fetch, OAuth2Error, OAuth2HttpError, generateCodeVerifier } from '@badgateway/oauth2-client';
import { randomBytes } from 'node:crypto';
import { readFileSync, writeFileSync, existsSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { createRequire } from 'node:module';
import { HttpStatus, Timeout, emit, loopbackRedirect, serve } from '../jsonl_protocol.mjs';

const require = createRequire(import.meta.url);
const libVersion = require('@badgateway/oauth2-client/package.json').version;
const withFix = process.argv.includes('--fix');

// The client's clock. The library reads the time with Date.now() (expiresAt = Date.now() +
// expires_in; getToken() compares it with Date.now()) and schedules its refresh with
// setTimeout(). advance_time moves Date.now() and runs the library's refresh timers that have
// come due, as if that much time had passed.
let clockOffsetMs = 0;
const realNow = Date.now;
Date.now = () => realNow() + clockOffsetMs;
const libraryTimers = new Map(); // handle -> { due, fn }
const realSetTimeout = globalThis.setTimeout;
const realClearTimeout = globalThis.clearTimeout;
globalThis.setTimeout = (fn, ms, ...args) => {
  const handle = realSetTimeout(fn, ms, ...args);
  if (/node_modules\/@badgateway\/oauth2-client\//.test(new Error().stack)) {
    libraryTimers.set(handle, { due: Date.now() + Number(ms), fn: () => fn(...args) });
    handle.unref?.();
  }
  return handle;
};
globalThis.clearTimeout = (handle) => {
  libraryTimers.delete(handle);
  realClearTimeout(handle);
};

async function advanceTime(seconds) {
  clockOffsetMs += seconds * 1000;
  for (;;) {
    const due = [...libraryTimers].find(([, t]) => t.due <= Date.now());
    if (!due) return;
    globalThis.clearTimeout(due[0]);
    await due[1].fn();
  }
}

function dropTimers() { // a restart ends the process, and its timers with it
  for (const handle of [...libraryTimers.keys()]) globalThis.clearTimeout(handle);
}


class Adapter {
  constructor(cfg) {
    this.cfg = cfg;
    this.path = join(cfg.state_dir, 'token.json');
    // The fetch the library and the API calls use: Node's, or with the scenario's CA (the
    // library's `fetch` setting and its OAuth2Fetch.mw() middleware are its ways to plug one in).
    this.send = (request) => fetch(request);
    let clientFetch;
    if (cfg.ca_file) {
      const undici = require('undici');
      const dispatcher = new undici.Agent({ connect: { ca: readFileSync(cfg.ca_file) } });
      clientFetch = (url, init) => undici.fetch(url, { ...init, dispatcher });
      this.send = (req) => undici.fetch(req.url, { method: req.method, headers: req.headers, dispatcher });
    }
    // The README's setting for credentials in the body (2BA's way); for Basic its default,
    // 'client_secret_basic_interop'.
    let authenticationMethod = cfg.client_auth === 'basic' ? undefined : 'client_secret_post';
    if (withFix && cfg.client_auth === 'basic') {
      // 2ba-fix:begin
      // Basic credentials form-encoded as RFC 6749 2.3.1 says: the default encodes only ':', so
      // a secret with '+' or '%' arrives changed. (Better still, use 'client_secret_post'.)
      authenticationMethod = 'client_secret_basic';
      // 2ba-fix:end
    }
    if (withFix) {
      // 2ba-fix:begin
      // 2BA answers a dead refresh token (expired, reused, revoked) with 400, at times with an
      // empty body (the library then throws a SyntaxError). OAuth2Fetch keeps its token after a
      // failed refresh and would send the dead one again on every call: so never send a refresh
      // token again that got a 400, and forget the stored one; the user is asked to log in.
      const dead = new Set();
      const send = clientFetch ?? fetch;
      clientFetch = async (url, init) => {
        const refreshToken = new URLSearchParams(init?.body).get('refresh_token');
        if (dead.has(refreshToken)) throw new Error('refresh token refused before: log in again');
        const res = await send(url, init);
        if (res.status === 400 && refreshToken) {
          dead.add(refreshToken);
          rmSync(this.path, { force: true });
        }
        return res;
      };
      // 2ba-fix:end
    }
    this.client = new OAuth2Client({
      clientId: cfg.client_id,
      clientSecret: cfg.client_secret ?? undefined,
      tokenEndpoint: cfg.token_url,
      authorizationEndpoint: cfg.authorize_url,
      authenticationMethod,
      fetch: clientFetch,
    });
    this.login = null; // the login the user just made, for getNewToken
    this.fetcher = this.wrapper(true);
  }

  wrapper(fromStore) {
    return new OAuth2Fetch({
      client: this.client,
      getNewToken: () => {
        const login = this.login;
        this.login = null;
        return login ? login() : null; // null: the user must log in again
      },
      storeToken: (token) => writeFileSync(this.path, JSON.stringify(token)),
      getStoredToken: fromStore
        ? () => (existsSync(this.path) ? JSON.parse(readFileSync(this.path, 'utf8')) : null)
        : undefined,
    });
  }

  // A login starts a new session: a new wrapper whose first token is the login's.
  async logIn(login) {
    dropTimers();
    this.login = login;
    this.fetcher = this.wrapper(false);
    await this.fetcher.getToken();
  }

  scope() {
    return this.cfg.scope ? this.cfg.scope.split(' ') : undefined;
  }

  async loginPassword(username, password) {
    await this.logIn(() => this.client.password({ username, password, scope: this.scope() }));
  }

  async refresh() {
    await this.fetcher.refreshToken();
  }

  async call(path) {
    const base = this.cfg.product_api_base || this.cfg.api_base;
    const res = await this.fetcher.mw()(new Request(base + path), this.send);
    await res.arrayBuffer();
    if (!res.ok) throw new HttpStatus(res.status);
  }

  async loginCode() {
    const codeVerifier = await generateCodeVerifier();
    const state = randomBytes(16).toString('base64url');
    const { redirectUri, url } = await loopbackRedirect(async (redirectUri) => emit({
      event: 'authorize',
      url: await this.client.authorizationCode.getAuthorizeUri({ redirectUri, state, codeVerifier, scope: this.scope() }),
    }));
    await this.logIn(() => this.client.authorizationCode.getTokenFromCodeRedirect(url, { redirectUri, state, codeVerifier }));
  }
}

// The error member of a reply for an error of the library, fetch or the adapter.
function errorReply(e) {
  const message = `${e.name}: ${e.message}${e.cause?.message ? ` (${e.cause.message})` : ''}`;
  let kind = 'other';
  if (e instanceof Timeout) kind = 'timeout';
  else if (e instanceof OAuth2HttpError) kind = e.httpCode >= 500 ? 'server' : e.oauth2Code === 'invalid_grant' ? 'relogin_required' : 'oauth';
  else if (e instanceof OAuth2Error) kind = e.oauth2Code === 'access_denied' ? 'access_denied' : 'oauth';
  else if (e instanceof HttpStatus) kind = e.status >= 500 ? 'server' : 'oauth';
  else if (/^Unable to obtain OAuth2 tokens/.test(e.message)) kind = 'relogin_required';
  else if (/"state" parameter/.test(e.message)) kind = 'state_mismatch';
  else if (e instanceof TypeError && e.message === 'fetch failed') kind = 'transport';
  else if (/invalid token response/.test(e.message)) kind = 'parse';
  return { kind, message };
}

serve({
  start: (config) => new Adapter(config),
  restart: (client) => { dropTimers(); return new Adapter(client.cfg); },
  advanceTime,
  errorReply,
  implementation: {
    name: withFix ? '@badgateway/oauth2-client+fix' : '@badgateway/oauth2-client', version: libVersion,
    language: 'javascript', node: process.version,
    homepage: 'https://github.com/badgateway/oauth2-client', issues: 'https://github.com/badgateway/oauth2-client/issues',
  },
});
