// Calls every method of the control client once against the mock at argv[2] (the schema test's
// recording proxy, integrations/test_control_clients.py), then prints the OPERATIONS table as
// JSON. Fails when the client has a method this script does not call.
import { OPERATIONS, TwoBaMockControl } from "../control.js";

const base = process.argv[2];
const control = new TwoBaMockControl(base);
const scenario = new TwoBaMockControl(`${base}/s/fast-expiry`);
const calls = {
  health: () => control.health(),
  clock: () => control.clock(),
  advanceClock: () => control.advanceClock(3600),
  setClock: () => control.setClock(1893456000),
  freezeClock: () => scenario.freezeClock(false),
  requests: async () => (await control.requests()) && control.requests({ since: 1, path: "/OAuth/Token" }),
  clearRequests: () => control.clearRequests(),
  addFault: () => control.addFault({ path: "/OAuth/Token", grant_type: "refresh_token", status: 503, headers: { "Retry-After": "2" }, times: 1 }),
  faults: () => control.faults(),
  clearFaults: () => control.clearFaults(),
  tokens: async () => (await control.tokens()) && control.tokens({ user: "demo" }),
  expire: () => control.expire({ client: "demo-client" }),
  revoke: () => control.revoke({ user: "demo" }),
  issueCode: () => control.issueCode({ client_id: "demo-client", username: "demo", redirect_uri: "http://localhost:8765/callback" }),
  reset: () => scenario.reset(),
};
const methods = Object.getOwnPropertyNames(TwoBaMockControl.prototype).filter((m) => m !== "constructor");
const uncalled = methods.filter((m) => !(m in calls));
if (uncalled.length) {
  console.error(`control.js methods this script does not call: ${uncalled.join(", ")}`);
  process.exit(1);
}
for (const [name, call] of Object.entries(calls)) {
  const result = await call();
  if (result === undefined) {
    console.error(`${name}() returned undefined: a reply member the client reads is missing`);
    process.exit(1);
  }
}
console.log(JSON.stringify(Object.values(OPERATIONS)));
