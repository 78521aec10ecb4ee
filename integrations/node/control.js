// The mock's control API (/__mock, described in the mock's openapi.json) as a thin client: one
// method per operation, JSON in and out, no dependencies (node:http and node:https, so that an
// HTTPS mock's CA can be trusted per client). Errors carry the mock's status and message.
import http from "node:http";
import https from "node:https";

/** An answer of the control API with status >= 400. */
export class ControlApiError extends Error {
  constructor(method, path, status, body) {
    super(`control API ${method} ${path} -> ${status} ${body.slice(0, 300)}`);
    this.name = "ControlApiError";
    this.status = status;
    this.body = body;
  }
}

/** Every operation this client sends: [method, path]. The schema test checks them against openapi.json. */
export const OPERATIONS = Object.freeze({
  health: ["GET", "/health"],
  reset: ["POST", "/reset"],
  clock: ["GET", "/clock"],
  moveClock: ["POST", "/clock"],
  requests: ["GET", "/requests"],
  clearRequests: ["DELETE", "/requests"],
  faults: ["GET", "/faults"],
  addFault: ["POST", "/faults"],
  clearFaults: ["DELETE", "/faults"],
  tokens: ["GET", "/tokens"],
  revoke: ["POST", "/tokens/revoke"],
  expire: ["POST", "/tokens/expire"],
  issueCode: ["POST", "/codes"],
});

export class TwoBaMockControl {
  /**
   * @param {string} base the authorize base: the mock's URL, or a scenario's URL ending in /s/NAME
   * @param {{ ca?: string, adminToken?: string }} [options] ca: PEM to trust (--https);
   *   adminToken: the mock's --admin-token, sent as a Bearer token
   */
  constructor(base, options = {}) {
    this.base = base.replace(/\/+$/, "");
    this.ca = options.ca;
    this.adminToken = options.adminToken;
  }

  health() { return this.#call("health"); }
  /** Back to the fixture's start: tokens, clock, faults and journal. */
  reset() { return this.#call("reset"); }
  /** The virtual clock: { now, now_ms, frozen }. */
  clock() { return this.#call("clock"); }
  /** Moves the virtual clock by `seconds` (negative: back); timed events that fall due fire. */
  advanceClock(seconds) { return this.#call("moveClock", { advance: seconds }); }
  setClock(unixSeconds) { return this.#call("moveClock", { set: unixSeconds }); }
  freezeClock(frozen = true) { return this.#call("moveClock", { frozen }); }
  /** The request journal's entries, oldest first; `since` a seq, `path` one path only. */
  async requests({ since, path } = {}) {
    return (await this.#call("requests", undefined, { since, path })).requests;
  }
  clearRequests() { return this.#call("clearRequests"); }
  async faults() { return (await this.#call("faults")).faults; }
  /** Queues a fault ({ path, grant_type?, status?, headers?, body?, delay_ms?, drop?, after_commit?, times? }); returns its ids. */
  async addFault(fault) { return (await this.#call("addFault", fault)).ids; }
  clearFaults() { return this.#call("clearFaults"); }
  /** The grants (logins) and their tokens, optionally of one user or client. */
  async tokens({ user, client } = {}) { return (await this.#call("tokens", undefined, { user, client })).grants; }
  /** Revokes by exactly one of { token }, { user }, { client }, { grant }; returns how many. */
  async revoke(selector) { return (await this.#call("revoke", selector)).affected; }
  async expire(selector) { return (await this.#call("expire", selector)).affected; }
  /** An authorization code without the login page: { client_id, username, redirect_uri, scope?, code_challenge?, code_challenge_method? }. */
  issueCode(request) { return this.#call("issueCode", request); }

  #call(operation, body, query = {}) {
    const [method, path] = OPERATIONS[operation];
    const url = new URL(`${this.base}/__mock${path}`);
    for (const [key, value] of Object.entries(query)) {
      if (value !== undefined) url.searchParams.set(key, String(value));
    }
    const payload = body === undefined ? undefined : JSON.stringify(body);
    const headers = { Accept: "application/json" };
    if (payload !== undefined) headers["Content-Type"] = "application/json";
    if (this.adminToken) headers.Authorization = `Bearer ${this.adminToken}`;
    const transport = url.protocol === "https:" ? https : http;
    return new Promise((resolve, reject) => {
      const req = transport.request(url, { method, headers, ca: this.ca, agent: false }, (res) => {
        let text = "";
        res.setEncoding("utf8");
        res.on("data", (chunk) => { text += chunk; });
        res.on("end", () => {
          if (res.statusCode >= 400) reject(new ControlApiError(method, path, res.statusCode, text));
          else resolve(text ? JSON.parse(text) : {});
        });
      });
      req.on("error", reject);
      req.setTimeout(10000, () => req.destroy(new Error(`control API ${method} ${path}: no answer in 10 s`)));
      req.end(payload);
    });
  }
}
