// A JSON-lines adapter (ADAPTERS.md, protocol 2) for a small 2BA client on Node's http/https.
import fs from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import path from 'node:path';
import readline from 'node:readline';

const reply = (obj) => process.stdout.write(JSON.stringify(obj) + '\n');
class Failure extends Error { constructor(kind, message) { super(message); this.kind = kind; } }
const httpFailure = (status) => new Failure(status >= 500 ? 'server' : 'oauth', `HTTP ${status}`);

class Client {
  constructor(cfg) {
    this.cfg = cfg; this.file = path.join(cfg.state_dir, 'tokens.json'); this.refreshing = null;
    this.tokens = fs.existsSync(this.file) ? JSON.parse(fs.readFileSync(this.file, 'utf8')) : null;
  }

  send(method, url, headers, body) {                  // -> { status, text }
    const ca = this.cfg.ca_file ? fs.readFileSync(this.cfg.ca_file) : undefined;
    return new Promise((resolve, reject) => {
      const req = (url.startsWith('https:') ? https : http).request(url, { method, headers, ca }, (res) => {
        let text = '';
        res.setEncoding('utf8').on('data', (d) => { text += d; }).on('end', () => resolve({ status: res.statusCode, text }));
      });
      req.on('error', (e) => reject(new Failure('transport', e.message)));
      req.end(body);
    });
  }

  async grant(form) {                                 // POST /OAuth/Token, credentials in the body
    form.client_id = this.cfg.client_id;
    if (this.cfg.client_secret != null) form.client_secret = this.cfg.client_secret;
    const r = await this.send('POST', this.cfg.token_url,
      { 'Content-Type': 'application/x-www-form-urlencoded' }, new URLSearchParams(form).toString());
    if (r.status === 400 && form.grant_type === 'refresh_token') {  // the refresh token is dead
      this.tokens = null; fs.rmSync(this.file, { force: true }); throw new Failure('relogin_required', 'refresh rejected');
    }
    if (r.status !== 200) throw httpFailure(r.status);
    const fresh = JSON.parse(r.text);
    fresh.refresh_token ??= this.tokens?.refresh_token; // none came back: keep the old one
    this.tokens = fresh; fs.writeFileSync(this.file, JSON.stringify(fresh));
  }

  refresh(seen) {                                     // one refresh at a time, never a stale one twice
    if (!this.tokens) return Promise.reject(new Failure('relogin_required', 'not logged in'));
    if (seen !== undefined && this.tokens.access_token !== seen) return Promise.resolve();
    this.refreshing ??= this.grant({ grant_type: 'refresh_token', refresh_token: this.tokens.refresh_token })
      .finally(() => { this.refreshing = null; });
    return this.refreshing;
  }

  async call(p) {                                     // after a 401: one refresh, one retry
    for (let attempt = 1; ; attempt++) {
      if (!this.tokens) throw new Failure('relogin_required', 'not logged in');
      const at = this.tokens.access_token;
      const r = await this.send('GET', this.cfg.product_api_base + p, { Authorization: `Bearer ${at}` });
      if (r.status !== 401 || attempt === 2) { if (r.status >= 400) throw httpFailure(r.status); return; }
      await this.refresh(at);
    }
  }
}

let client = null;
for await (const line of readline.createInterface({ input: process.stdin })) {
  const m = JSON.parse(line); const { cmd, seq } = m;
  if (cmd === 'start') {
    client = new Client(m.config);
    reply({ ready: true, version: 2, implementation: { name: 'skeleton', version: '1', language: 'javascript' } });
    continue;
  }
  if (cmd === 'stop') break;
  try {
    if (cmd === 'login_password') await client.grant({ grant_type: 'password', username: m.username, password: m.password });
    else if (cmd === 'refresh') await client.refresh();
    else if (cmd === 'restart') client = new Client(client.cfg);
    else if (cmd === 'advance_time') { /* no clock of its own: it refreshes on a 401 */ }
    else if (cmd === 'call_api') {                    // parallel calls; the first failure is the reply
      const results = await Promise.allSettled(Array.from({ length: m.concurrency ?? 1 }, () => client.call(m.path)));
      const failed = results.find((r) => r.status === 'rejected');
      if (failed) throw failed.reason;
    } else { reply({ seq, skipped: { reason: `${cmd} not supported by this adapter` } }); continue; }
    reply({ seq, ok: true });
  } catch (e) { reply({ seq, error: { kind: e.kind ?? 'other', message: e.message } }); }
}
process.exit(0);
