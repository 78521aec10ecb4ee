// Testcontainers module for the offline 2BA OAuth2 mock (the twoba-mock image), in the shape of
// the @testcontainers/* modules: a GenericContainer subclass whose start() returns a started
// container with the URLs to hand to the code under test and the control API's helpers.
import { AbstractStartedContainer, GenericContainer, Wait } from "testcontainers";
import { TwoBaMockControl } from "./control.js";

export { ControlApiError, OPERATIONS, TwoBaMockControl } from "./control.js";

/** The image this module's version is tested with; pass another to the constructor. */
export const DEFAULT_IMAGE = "ghcr.io/twoba-mock/twoba-mock:0.1.0";
/** The port the image's mock listens on (its entry point: --host 0.0.0.0 --port 8080). */
export const MOCK_PORT = 8080;
/** Where the image keeps its fixtures (fixtures/*.json of the source tree). */
export const FIXTURE_DIR = "/usr/share/twoba-mock/fixtures";

export class TwoBaMockContainer extends GenericContainer {
  #https = false;
  #adminToken;
  #mockArgs = [];

  /** @param {string} [image] default DEFAULT_IMAGE */
  constructor(image = DEFAULT_IMAGE) {
    super(image);
    this.withExposedPorts(MOCK_PORT).withStartupTimeout(60_000);
  }

  /** Serve HTTPS with a certificate from a CA the mock makes; getCa() returns that CA (PEM). */
  withHttps() {
    this.#https = true;
    return this;
  }

  /** Start on another fixture: a name of the image's fixtures ("fast-expiry") or an absolute path in the container. */
  withFixture(fixture) {
    const path = fixture.startsWith("/") ? fixture : `${FIXTURE_DIR}/${fixture}.json`;
    return this.withMockArgs("--fixture", path);
  }

  /** Require this Bearer token on the control API (the mock's --admin-token, at least 8 characters). */
  withAdminToken(token) {
    this.#adminToken = token;
    return this.withMockArgs("--admin-token", token);
  }

  /** Further mock_server options (mock_server --help), after the image's entry point. */
  withMockArgs(...args) {
    this.#mockArgs.push(...args);
    return this;
  }

  /** @returns {Promise<StartedTwoBaMockContainer>} */
  async start() {
    const args = [...this.#mockArgs];
    if (this.#https) args.push("--https");
    this.withCommand(args);
    // READY comes once the mock accepts connections; with --https the CA-FILE line follows it.
    this.withWaitStrategy(Wait.forLogMessage(this.#https ? /^CA-FILE / : /^READY /));
    const started = await super.start();
    const ca = this.#https ? await readCa(started, args) : undefined;
    return new StartedTwoBaMockContainer(started, { https: this.#https, ca, adminToken: this.#adminToken });
  }
}

export class StartedTwoBaMockContainer extends AbstractStartedContainer {
  #https;
  #ca;
  #adminToken;
  #control;

  constructor(started, { https, ca, adminToken }) {
    super(started);
    this.#https = https;
    this.#ca = ca;
    this.#adminToken = adminToken;
    this.#control = this.control();
  }

  /** The mapped port of the mock on the Docker host. */
  getPort() {
    return this.getMappedPort(MOCK_PORT);
  }

  /** The authorize base (where the code under test would use https://authorize.2ba.nl); with a scenario, its /s/NAME base. */
  getAuthorizeBase(scenario) {
    const url = `${this.#https ? "https" : "http"}://${this.getHost()}:${this.getPort()}`;
    return scenario ? `${url}/s/${encodeURIComponent(scenario)}` : url;
  }

  getTokenUrl(scenario) {
    return `${this.getAuthorizeBase(scenario)}/OAuth/Token`;
  }

  getAuthorizeUrl(scenario) {
    return `${this.getAuthorizeBase(scenario)}/OAuth/Authorize`;
  }

  /** The product API base: product paths (/Product/…, /TradeItem/…) go after it. */
  getApiBase(scenario) {
    return `${this.getAuthorizeBase(scenario)}/1/json`;
  }

  /** The CA certificate (PEM) that signed the mock's HTTPS certificate; undefined without withHttps(). */
  getCa() {
    return this.#ca;
  }

  /** A control-API client for the default scenario or the named one. */
  control(scenario) {
    return new TwoBaMockControl(this.getAuthorizeBase(scenario), { ca: this.#ca, adminToken: this.#adminToken });
  }

  advanceClock(seconds) { return this.#control.advanceClock(seconds); }
  revoke(selector) { return this.#control.revoke(selector); }
  expire(selector) { return this.#control.expire(selector); }
  addFault(fault) { return this.#control.addFault(fault); }
  clearFaults() { return this.#control.clearFaults(); }
  requests(filter) { return this.#control.requests(filter); }
  reset() { return this.#control.reset(); }
}

// The CA file of --https: in --https-dir when given, else the mock's default (its CA-FILE line
// names the same file). Read with cat through exec: Testcontainers' logs() stream does not keep
// the event loop alive, so waiting on it for the CA-FILE line can end the process mid-test.
async function readCa(started, mockArgs) {
  const dir = mockArgs.indexOf("--https-dir");
  const script = dir >= 0 ? 'cat "$1/ca.pem"' : 'cat "${XDG_CACHE_HOME:-$HOME/.cache}/twoba-mock/ca.pem"';
  const { output, exitCode } = await started.exec(["sh", "-c", script, "sh", ...(dir >= 0 ? [mockArgs[dir + 1]] : [])]);
  if (exitCode !== 0 || !output.includes("-----BEGIN CERTIFICATE-----")) {
    throw new Error(`cannot read the mock's CA: ${output}`);
  }
  return output.slice(output.indexOf("-----BEGIN CERTIFICATE-----"));
}
