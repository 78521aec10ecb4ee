// The kit's JSON-lines protocol (ADAPTERS.md) for the bundled Node.js adapters: one command a
// line on stdin, one reply a line on stdout. Each adapter brings its client, how the client's
// errors map to reply kinds and how time passes for it; the loop is the same for all of them.
import { createInterface } from 'node:readline';

// Writes one protocol line (a reply or an event such as the authorize URL).
export function emit(obj) {
  process.stdout.write(JSON.stringify(obj) + '\n');
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
