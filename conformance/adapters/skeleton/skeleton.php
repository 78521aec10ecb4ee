<?php
// A JSON-lines adapter (ADAPTERS.md, protocol 2) for a small 2BA client on PHP's HTTP streams.
function reply(array $obj): void { fwrite(STDOUT, json_encode($obj, JSON_UNESCAPED_SLASHES) . "\n"); }
class Failure extends Exception {}               // the message is the error kind

class Client {
    public array $cfg; private string $file; private ?array $tokens = null;

    function __construct(array $cfg) {
        $this->cfg = $cfg; $this->file = $cfg['state_dir'] . '/tokens.json';
        if (is_file($this->file)) $this->tokens = json_decode(file_get_contents($this->file), true);
    }

    private function send(string $method, string $url, array $headers, string $body = ''): array {  // [status, body]
        $ctx = stream_context_create([
            'http' => ['method' => $method, 'header' => $headers, 'content' => $body, 'ignore_errors' => true,
                       'follow_location' => 0, 'timeout' => 20],
            'ssl' => isset($this->cfg['ca_file']) ? ['cafile' => $this->cfg['ca_file']] : []]);
        $text = @file_get_contents($url, false, $ctx);
        if ($text === false) throw new Failure('transport');
        preg_match('{^HTTP/\S+ (\d+)}', $http_response_header[0], $m);
        return [(int)$m[1], $text];
    }

    function grant(array $form): void {          // POST /OAuth/Token, credentials in the body
        $form += ['client_id' => $this->cfg['client_id'], 'client_secret' => $this->cfg['client_secret'] ?? null];
        [$status, $body] = $this->send('POST', $this->cfg['token_url'],
            ['Content-Type: application/x-www-form-urlencoded'], http_build_query($form));
        if ($status === 400 && $form['grant_type'] === 'refresh_token') {  // the refresh token is dead
            $this->tokens = null; @unlink($this->file); throw new Failure('relogin_required');
        }
        if ($status !== 200) throw new Failure($status >= 500 ? 'server' : 'oauth');
        $fresh = json_decode($body, true) ?? throw new Failure('parse');
        $fresh['refresh_token'] ??= $this->tokens['refresh_token'] ?? null;  // none came back: keep the old one
        $this->tokens = $fresh; file_put_contents($this->file, json_encode($fresh));
    }

    function refresh(?string $seen = null): void {  // PHP runs one request at a time: no lock needed
        if (!$this->tokens) throw new Failure('relogin_required');
        if ($seen === null || $this->tokens['access_token'] === $seen)
            $this->grant(['grant_type' => 'refresh_token', 'refresh_token' => $this->tokens['refresh_token']]);
    }

    function call(string $path): void {          // after a 401: one refresh, one retry
        for ($attempt = 1; ; $attempt++) {
            if (!$this->tokens) throw new Failure('relogin_required');
            $at = $this->tokens['access_token'];
            [$status] = $this->send('GET', $this->cfg['product_api_base'] . $path, ["Authorization: Bearer $at"]);
            if ($status !== 401 || $attempt === 2) {
                if ($status >= 400) throw new Failure($status >= 500 ? 'server' : 'oauth');
                return;
            }
            $this->refresh($at);
        }
    }
}

$client = null;
while (($line = fgets(STDIN)) !== false) {
    $m = json_decode($line, true); $cmd = $m['cmd']; $seq = $m['seq'] ?? null;
    try {
        switch ($cmd) {
            case 'start':
                $client = new Client($m['config']);
                reply(['ready' => true, 'version' => 2, 'implementation' => ['name' => 'skeleton', 'version' => '1', 'language' => 'php']]);
                continue 2;
            case 'stop': exit(0);
            case 'login_password':
                $client->grant(['grant_type' => 'password', 'username' => $m['username'], 'password' => $m['password']]);
                break;
            case 'refresh': $client->refresh(); break;
            case 'restart': $client = new Client($client->cfg); break;
            case 'advance_time': break;               // no clock of its own: it refreshes on a 401
            case 'call_api':                          // one after another: a PHP request has no threads
                for ($i = 0; $i < ($m['concurrency'] ?? 1); $i++) $client->call($m['path']);
                break;
            default:
                reply(['seq' => $seq, 'skipped' => ['reason' => "$cmd not supported by this adapter"]]);
                continue 2;
        }
        reply(['seq' => $seq, 'ok' => true]);
    } catch (Failure $e) {
        reply(['seq' => $seq, 'error' => ['kind' => $e->getMessage()]]);
    } catch (Throwable $e) {
        reply(['seq' => $seq, 'error' => ['kind' => 'other', 'message' => $e->getMessage()]]);
    }
}
