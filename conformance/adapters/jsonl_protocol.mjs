// The kit's JSON-lines protocol (ADAPTERS.md) for the bundled Node.js adapters: one command a
// line on stdin, one reply a line on stdout. Each adapter brings its client, how the client's
// errors map to reply kinds and how time passes for it; the loop is the same for all of them.
import http from 'node:http';
import { createInterface } from 'node:readline';

// Writes one protocol line (a reply or an event such as the authorize URL).
export function emit(obj) {
  process.stdout.write(JSON.stringify(obj) + '\n');
}

// The errors an adapter raises itself; its errorReply maps them to reply kinds.
export class Relogin extends Error {}  // no usable tokens: the user must log in
export class Timeout extends Error {}
export class HttpStatus extends Error {
  constructor(status) {
    super(`HTTP ${status}`);
    this.status = status;
  }
}

/**
 * Receives the authorization redirect on a loopback port, as a native application does
 * (RFC 8252 section 7.3).
 * @param {(redirectUri: string) => (void|Promise<void>)} authorize  emits the authorize URL
 * @returns {Promise<{redirectUri: string, url: URL}>} the redirect as the browser delivered it
 */
export async function loopbackRedirect(authorize, timeoutMs = 60000) {
  let resolve;
  const got = new Promise((r) => { resolve = r; });
  const srv = http.createServer((req, res) => {
    res.end();
    resolve(req.url);
  });
  await new Promise((r) => srv.listen(0, '127.0.0.1', r));
  try {
    const redirectUri = `http://127.0.0.1:${srv.address().port}/callback`;
    await authorize(redirectUri);
    const path = await Promise.race([got, new Promise((_, reject) => setTimeout(() => reject(new Timeout()), timeoutMs))]);
    return { redirectUri, url: new URL(path, redirectUri) };
  } finally {
    srv.close();
    srv.closeAllConnections();
  }
}

/**
 * Serves commands until `stop` or the end of input, then exits the process.
 * @param {object} adapter
 * @param {(config: object) => object} adapter.start  a fresh client for a scenario's configuration;
 *   it has loginPassword, loginCode, refresh, call(path) and keeps the configuration as `cfg`
 * @param {object} adapter.implementation  the start reply's `implementation` member
 * @param {(e: Error) => {kind: string, message: string}} adapter.errorReply
 * @param {(seconds: number) => (void|Promise<void>)} adapter.advanceTime
 * @param {(client: object) => object} [adapter.restart]  the client after a restart; by default
 *   a fresh one from its configuration, as a new process would start
 */
export async function serve({ start, implementation, errorReply, advanceTime, restart }) {
  let client = null;
  const lines = createInterface({ input: process.stdin, crlfDelay: Infinity });
  for await (const line of lines) {
    if (!line.trim()) continue;
    const m = JSON.parse(line);
    const { cmd, seq } = m;
    if (cmd === 'start') {
      client = start(m.config);
      emit({ ready: true, version: (m.version ?? 1) >= 2 ? 2 : 1, implementation });
      continue;
    }
    if (cmd === 'stop') break;
    try {
      switch (cmd) {
        case 'login_password': await client.loginPassword(m.username, m.password); break;
        case 'login_code': await client.loginCode(); break;
        case 'refresh': await client.refresh(); break;
        case 'restart': client = restart ? restart(client) : start(client.cfg); break;
        case 'info': break;
        case 'advance_time': await advanceTime(Number(m.seconds)); break;
        case 'call_api': {
          const n = Math.max(1, Number(m.concurrency ?? 1));
          const results = await Promise.allSettled(Array.from({ length: n }, () => client.call(m.path)));
          const failed = results.find((r) => r.status === 'rejected');
          if (failed) throw failed.reason;
          break;
        }
        default:
          emit({ seq, skipped: { reason: `${cmd} not supported` } });
          continue;
      }
      emit({ seq, ok: true });
    } catch (e) {
      emit({ seq, error: errorReply(e) });
    }
  }
  process.exit(0);
}
