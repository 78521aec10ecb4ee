// End-to-end test of the Authorization Code flow in a real browser: Debian's Chromium, headless,
// driven by playwright-core, against the mock_server binary on a free port.
//
//   node login_test.mjs --mock PATH/mock_server --fixture fixtures/default.json --out DIR
//
// DIR receives screenshots of the pages the browser saw.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { parseArgs } from 'node:util';
import { chromium } from 'playwright-core';

const { values: options } = parseArgs({
  options: {
    mock: { type: 'string' },
    fixture: { type: 'string' },
    out: { type: 'string' },
    chromium: { type: 'string', default: '/usr/bin/chromium' },
  },
});
for (const name of ['mock', 'fixture', 'out']) {
  if (!options[name]) throw new Error(`--${name} is required`);
}
mkdirSync(options.out, { recursive: true });

const kGtin = '08711893010011';
const kPublicClient = 'demo-public';
const kStepTimeoutMs = 15000;

let mock;      // the mock_server child process
let baseUrl;   // from its READY line
let callback;  // { server, url, requests[] }
let browser;   // a persistent context on a fresh profile
let profileDir;

const base64url = (bytes) => Buffer.from(bytes).toString('base64url');

function pkcePair() {
  const verifier = base64url(randomBytes(32));
  const challenge = base64url(createHash('sha256').update(verifier).digest());
  return { verifier, challenge };
}

// Starts the mock and resolves with the base URL from its READY line (no sleeping).
function startMock() {
  return new Promise((resolve, reject) => {
    const child = spawn(options.mock, ['--port', '0', '--fixture', options.fixture, '--log-format', 'text'], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    const timer = setTimeout(() => reject(new Error('mock_server printed no READY line within 10 s')), 10000);
    child.on('exit', (code) => reject(new Error(`mock_server exited early with status ${code}`)));
    createInterface({ input: child.stdout }).on('line', (line) => {
      const match = /^READY (\S+)$/.exec(line);
      if (match) {
        clearTimeout(timer);
        resolve({ child, url: match[1] });
      }
    });
  });
}

// A stand-in for the client application's loopback redirect listener (RFC 8252 §7.3).
function startCallbackListener() {
  return new Promise((resolve) => {
    const requests = [];
    const server = createServer((req, res) => {
      const url = new URL(req.url, 'http://127.0.0.1');
      if (url.pathname !== '/tokenreceiver') {  // e.g. the browser's own /favicon.ico
        res.writeHead(404).end();
        return;
      }
      requests.push(url);
      res.writeHead(200, { 'Content-Type': 'text/html; charset=utf-8' });
      res.end('<!DOCTYPE html><title>Callback</title><h1>Back in the application</h1>');
    });
    server.listen(0, '127.0.0.1', () => {
      resolve({ server, requests, url: `http://127.0.0.1:${server.address().port}/tokenreceiver` });
    });
  });
}

function authorizeUrl(params) {
  return `${baseUrl}/OAuth/Authorize?${new URLSearchParams(params)}`;
}

async function postForm(path, fields) {
  const res = await fetch(baseUrl + path, {
    method: 'POST',
    headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams(fields).toString(),
  });
  return { status: res.status, json: await res.json() };
}

async function journal() {
  const res = await fetch(`${baseUrl}/__mock/requests?path=/oauth/authorize`);
  return (await res.json()).requests;
}

// Opens a new page at the authorize URL of the public client and returns it with its PKCE pair.
async function openLoginPage(state) {
  const pkce = pkcePair();
  const page = await browser.newPage();
  page.setDefaultTimeout(kStepTimeoutMs);
  const response = await page.goto(
    authorizeUrl({
      response_type: 'code',
      client_id: kPublicClient,
      redirect_uri: callback.url,
      scope: 'openid offline_access unifeed',
      state,
      code_challenge: pkce.challenge,
      code_challenge_method: 'S256',
    }),
  );
  assert.equal(response.status(), 200);
  return { page, pkce };
}

async function focusedId(page) {
  return page.evaluate(() => document.activeElement && document.activeElement.id);
}

before(async () => {
  ({ child: mock, url: baseUrl } = await startMock());
  callback = await startCallbackListener();
  profileDir = mkdtempSync(join(tmpdir(), 'twoba-chromium-'));
  browser = await chromium.launchPersistentContext(profileDir, {
    executablePath: options.chromium,
    headless: true,
    viewport: { width: 1000, height: 760 },
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
});

after(async () => {
  if (browser) await browser.close();
  if (callback) callback.server.close();
  if (mock && mock.exitCode === null) {
    const exited = new Promise((resolve) => mock.once('exit', resolve));
    mock.kill('SIGTERM');
    await exited;
  }
  if (profileDir) rmSync(profileDir, { recursive: true, force: true });
});

describe('login page in Chromium', () => {
  test('log in with the keyboard, exchange the code with PKCE, call the product API', async () => {
    const state = base64url(randomBytes(12));
    const { page, pkce } = await openLoginPage(state);

    assert.equal(await page.title(), 'Log in · 2BA mock');
    await assert.doesNotReject(page.getByRole('heading', { name: 'Log in' }).waitFor());
    assert.match(await page.locator('.lead').innerText(), /Demo Desktop App \(public, PKCE\) wants to access/);
    assert.equal(await focusedId(page), 'username', 'the user name field has focus');
    assert.equal(await page.getByLabel('User name').count(), 1);
    assert.equal(await page.getByLabel('Password').count(), 1);
    const shot = join(options.out, 'login-page.png');
    await page.screenshot({ path: shot, fullPage: true });
    console.log(`# screenshot: ${shot}`);

    // Type as a person would: user name, Tab, password, Enter.
    const before = callback.requests.length;
    await page.keyboard.type('demo');
    await page.keyboard.press('Tab');
    await page.keyboard.type('demo');
    await Promise.all([page.waitForURL((url) => url.href.startsWith(callback.url)), page.keyboard.press('Enter')]);
    assert.equal(callback.requests.length, before + 1, 'the callback listener got exactly one request');
    const arrived = callback.requests.at(-1);
    assert.equal(arrived.pathname, '/tokenreceiver');
    assert.equal(arrived.searchParams.get('state'), state);
    const code = arrived.searchParams.get('code');
    assert.ok(code, 'the redirect carries a code');

    const tokens = await postForm('/OAuth/Token', {
      grant_type: 'authorization_code',
      code,
      redirect_uri: callback.url,
      client_id: kPublicClient,
      code_verifier: pkce.verifier,
    });
    assert.equal(tokens.status, 200, JSON.stringify(tokens.json));
    assert.equal(tokens.json.token_type.toLowerCase(), 'bearer');
    assert.equal(typeof tokens.json.expires_in, 'number');
    assert.ok(tokens.json.refresh_token, 'offline_access was asked for');

    const callProduct = () =>
      fetch(`${baseUrl}/1/json/Product/DetailsForProduct?gtin=${kGtin}`, {
        headers: { Authorization: `Bearer ${tokens.json.access_token}` },
      });
    const product = await callProduct();
    assert.equal(product.status, 200);
    assert.equal((await product.json()).GTIN, kGtin);

    // A code works once; presenting it again also revokes what it bought (RFC 6749 §4.1.2).
    const again = await postForm('/OAuth/Token', {
      grant_type: 'authorization_code',
      code,
      redirect_uri: callback.url,
      client_id: kPublicClient,
      code_verifier: pkce.verifier,
    });
    assert.equal(again.status, 400);
    assert.equal(again.json.error, 'invalid_grant');
    assert.equal((await callProduct()).status, 401);

    const post = (await journal()).filter((e) => e.method === 'POST').at(-1);
    assert.equal(post.outcome.login, 'ok');
    assert.equal(post.form.password[0], '[redacted]');
    assert.ok(!JSON.stringify(post).includes('password=demo'), 'the password is not journaled');
    await page.close();
  });

  test('a wrong password shows the form again, then the right one gets through', async () => {
    const state = 'wrong-password-state';
    const { page } = await openLoginPage(state);
    await page.getByLabel('User name').fill('demo');
    await page.getByLabel('Password').fill('not-the-password');
    await Promise.all([page.waitForLoadState('load'), page.getByRole('button', { name: 'Log in' }).click()]);
    await page.getByRole('alert').waitFor();
    assert.equal(await page.getByRole('alert').innerText(), 'The user name or password is incorrect.');
    assert.ok(page.url().startsWith(baseUrl), 'still on the mock');
    assert.equal(await page.getByLabel('User name').inputValue(), 'demo');
    assert.equal(await focusedId(page), 'password', 'the password field has focus');
    const shot = join(options.out, 'login-wrong-password.png');
    await page.screenshot({ path: shot, fullPage: true });
    console.log(`# screenshot: ${shot}`);
    assert.equal((await journal()).at(-1).outcome.login, 'wrong_password');

    await page.getByLabel('Password').fill('demo');
    await Promise.all([
      page.waitForURL((url) => url.href.startsWith(callback.url)),
      page.getByRole('button', { name: 'Log in' }).click(),
    ]);
    const arrived = callback.requests.at(-1);
    assert.equal(arrived.searchParams.get('state'), state);
    assert.ok(arrived.searchParams.get('code'));
    await page.close();
  });

  test('Cancel sends the browser back with access_denied and the state', async () => {
    const state = 'cancel-state';
    const { page } = await openLoginPage(state);
    await Promise.all([
      page.waitForURL((url) => url.href.startsWith(callback.url)),
      page.getByRole('button', { name: 'Cancel' }).click(),
    ]);
    const arrived = callback.requests.at(-1);
    assert.equal(arrived.searchParams.get('error'), 'access_denied');
    assert.equal(arrived.searchParams.get('state'), state);
    assert.equal(arrived.searchParams.get('code'), null);
    assert.equal((await journal()).at(-1).outcome.login, 'cancel');
    await page.close();
  });

  test("2BA's sample flow: the mock's own base URL as redirect_uri shows the code", async () => {
    const page = await browser.newPage();
    page.setDefaultTimeout(kStepTimeoutMs);
    // 2BA's sample builds this URL without encoding the redirect_uri.
    await page.goto(`${baseUrl}/OAuth/Authorize?response_type=code&client_id=demo-client&redirect_uri=${baseUrl}`);
    await page.getByLabel('User name').fill('demo');
    await page.getByLabel('Password').fill('demo');
    await Promise.all([page.waitForURL(/\/\?code=/), page.getByRole('button', { name: 'Log in' }).click()]);
    const code = new URL(page.url()).searchParams.get('code');
    assert.ok(code);
    assert.equal(await page.getByRole('heading', { level: 1 }).innerText(), 'Authorization code received');
    assert.equal(await page.locator('code.box').innerText(), code);
    const shot = join(options.out, 'code-received.png');
    await page.screenshot({ path: shot, fullPage: true });
    console.log(`# screenshot: ${shot}`);
    const tokens = await postForm('/OAuth/Token', {
      grant_type: 'authorization_code',
      code,
      redirect_uri: baseUrl,
      client_id: 'demo-client',
      client_secret: 'demo-secret',
    });
    assert.equal(tokens.status, 200, JSON.stringify(tokens.json));
    await page.close();
  });

  test('an unregistered redirect_uri gets an error page, never a redirect', async () => {
    const page = await browser.newPage();
    page.setDefaultTimeout(kStepTimeoutMs);
    const before = callback.requests.length;
    const response = await page.goto(
      authorizeUrl({ response_type: 'code', client_id: kPublicClient, redirect_uri: 'http://127.0.0.1:9/elsewhere' }),
    );
    assert.equal(response.status(), 400);
    assert.ok(page.url().startsWith(baseUrl));
    assert.match(await page.getByRole('alert').innerText(), /is not registered/);
    assert.equal(callback.requests.length, before);
    const shot = join(options.out, 'error-page.png');
    await page.screenshot({ path: shot, fullPage: true });
    console.log(`# screenshot: ${shot}`);
    await page.close();
  });
});
