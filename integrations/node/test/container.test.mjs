// The Testcontainers module against a real container engine (DOCKER_HOST), the image named by
// TWOBA_MOCK_IMAGE: the walkthrough of install.container (password grant, 15-day clock jump, the
// refresh's 400, the journal), a queued fault, a revocation, --https with the CA, and stop.
// Run by test/run.sh (ctest integrations.node_testcontainers).
import assert from "node:assert/strict";
import https from "node:https";
import { after, before, test } from "node:test";
import { ControlApiError, TwoBaMockContainer } from "../index.js";

const image = process.env.TWOBA_MOCK_IMAGE;
const FORM = { client_id: "demo-client", client_secret: "demo-secret" };
const tokenRequest = (url, fields) =>
  fetch(url, { method: "POST", body: new URLSearchParams({ ...FORM, ...fields }) });

let mock;
before(async () => {
  const t0 = Date.now();
  mock = await new TwoBaMockContainer(image).start();
  console.log(`start() -> READY: ${Date.now() - t0} ms`);
});
after(async () => {
  await mock?.stop();
});

test("the URLs hang off one authorize base", () => {
  const base = mock.getAuthorizeBase();
  assert.match(base, /^http:\/\/[^/]+:\d+$/);
  assert.equal(mock.getTokenUrl(), `${base}/OAuth/Token`);
  assert.equal(mock.getApiBase(), `${base}/1/json`);
  assert.equal(mock.getTokenUrl("fast-expiry"), `${base}/s/fast-expiry/OAuth/Token`);
  assert.equal(mock.getCa(), undefined);
});

test("password grant, 15 days on the clock, the refresh's 400", async () => {
  const login = await tokenRequest(mock.getTokenUrl(), { grant_type: "password", username: "demo", password: "demo" });
  assert.equal(login.status, 200);
  const { refresh_token: rt1, access_token: at1 } = await login.json();
  const product = await fetch(`${mock.getApiBase()}/Product/DetailsForProduct?gtin=8711893010011`,
    { headers: { Authorization: `Bearer ${at1}` } });
  assert.equal(product.status, 200);
  const clock = await mock.advanceClock(15 * 24 * 3600);
  assert.equal(typeof clock.now, "number");
  const refresh = await tokenRequest(mock.getTokenUrl(), { grant_type: "refresh_token", refresh_token: rt1 });
  assert.equal(refresh.status, 400);
  assert.equal((await refresh.json()).error_description, "The refresh token has expired.");
  const journal = await mock.requests({ path: "/OAuth/Token" });
  assert.deepEqual(journal.map((e) => [e.form.grant_type[0], e.status]), [["password", 200], ["refresh_token", 400]]);
});

test("a queued fault answers once; a revoked user must log in again", async () => {
  const [id] = await mock.addFault({ path: "/OAuth/Token", grant_type: "password", status: 503, headers: { "Retry-After": "2" }, times: 1 });
  assert.equal(typeof id, "number");
  const busy = await tokenRequest(mock.getTokenUrl(), { grant_type: "password", username: "demo", password: "demo" });
  assert.equal(busy.status, 503);
  assert.equal(busy.headers.get("retry-after"), "2");
  const login = await tokenRequest(mock.getTokenUrl(), { grant_type: "password", username: "demo", password: "demo" });
  const { refresh_token: rt } = await login.json();
  assert.ok((await mock.revoke({ user: "demo" })) >= 1);
  const refresh = await tokenRequest(mock.getTokenUrl(), { grant_type: "refresh_token", refresh_token: rt });
  assert.equal(refresh.status, 400);
  await assert.rejects(mock.revoke({}), (e) => e instanceof ControlApiError && e.status === 400);
});

test("withHttps(): the CA verifies the mock's certificate; without it the handshake fails", async () => {
  const secure = await new TwoBaMockContainer(image).withHttps().withFixture("fast-expiry").start();
  try {
    const ca = secure.getCa();
    assert.match(ca, /^-----BEGIN CERTIFICATE-----/);
    assert.match(secure.getTokenUrl(), /^https:/);
    const body = new URLSearchParams({ ...FORM, grant_type: "password", username: "demo", password: "demo" }).toString();
    const post = (options) => new Promise((resolve, reject) => {
      const req = https.request(secure.getTokenUrl(), { method: "POST", agent: false, ...options,
        headers: { "Content-Type": "application/x-www-form-urlencoded" } }, (res) => {
        let text = "";
        res.on("data", (c) => { text += c; });
        res.on("end", () => resolve({ status: res.statusCode, json: JSON.parse(text) }));
      });
      req.on("error", reject);
      req.end(body);
    });
    const reply = await post({ ca });
    assert.equal(reply.status, 200);
    assert.equal(reply.json.expires_in, 5, "withFixture(\"fast-expiry\") serves 5-second access tokens");
    await assert.rejects(post({}), /self[- ]signed|unable to verify|certificate/i);
    // The control API over HTTPS, trusting the same CA.
    assert.equal((await secure.advanceClock(61)).frozen, false);
    assert.equal((await secure.requests({ path: "/OAuth/Token" })).length, 1);
  } finally {
    await secure.stop();
  }
});

test("withHttps() with --https-dir: the CA comes from that folder", async () => {
  const secure = await new TwoBaMockContainer(image).withHttps().withMockArgs("--https-dir", "/tmp/mock-ca").start();
  try {
    assert.match(secure.getCa(), /^-----BEGIN CERTIFICATE-----/);
    assert.equal((await secure.control().health()).status, "ok");
    const listing = await secure.exec(["ls", "/tmp/mock-ca"]);
    assert.match(listing.output, /ca\.pem/);
  } finally {
    await secure.stop();
  }
});
