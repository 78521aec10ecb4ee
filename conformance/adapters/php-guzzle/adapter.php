<?php
// JSON-lines adapter (ADAPTERS.md, protocol 2) for the webshop module's 2BA connector in
// module.php, on Guzzle 7 from Debian (php-guzzlehttp-guzzle, /usr/share/php/GuzzleHttp).
// The adapter plays the shop: the admin's "connect" form (login_password), the OAuth callback
// controller (login_code), the "refresh now" button and the shop's page requests (call_api),
// each of which is a PHP process of its own, as under PHP-FPM: call_api with concurrency N
// starts N worker processes at once. They share only the option store in state_dir.
// --fix uses the connector with the fix of module.php (2ba-fix markers).

ini_set('display_errors', 'stderr'); // PHP's warnings must not reach the protocol's stdout
ini_set('log_errors', '0');         // nor reach stderr twice
require_once 'GuzzleHttp/autoload.php';
require_once __DIR__ . '/module.php';

use GuzzleHttp\Exception\BadResponseException;
use GuzzleHttp\Exception\RequestException;
use GuzzleHttp\Exception\TransferException;

$fix = in_array('--fix', $argv, true);

function emit(array $message): void
{
    fwrite(STDOUT, json_encode($message, JSON_UNESCAPED_SLASHES) . "\n");
    fflush(STDOUT);
}

function connector(array $cfg, bool $fix): TwobaConnector
{
    $settings = [
        'token_url' => $cfg['token_url'],
        'authorize_url' => $cfg['authorize_url'],
        'api_base' => $cfg['product_api_base'] ?? $cfg['api_base'],
        'client_id' => $cfg['client_id'],
        'client_secret' => $cfg['client_secret'] ?? null,
        'client_auth' => $cfg['client_auth'] ?? 'body',
        'scope' => $cfg['scope'] ?? null,
        'ca_file' => $cfg['ca_file'] ?? null,
    ];
    $options = new OptionStore($cfg['state_dir']);
    return $fix ? new FixedTwobaConnector($options, $settings) : new TwobaConnector($options, $settings);
}

/** The error member of a reply for an exception of Guzzle or the module. */
function error_reply(Throwable $e): array
{
    $kind = 'other';
    if ($e instanceof TwobaNotConnected) {
        $kind = 'relogin_required';
    } elseif ($e instanceof TwobaAuthorizationFailed) {
        $kind = $e->getMessage() === 'state_mismatch' ? 'state_mismatch'
            : ($e->getMessage() === 'access_denied' ? 'access_denied' : 'oauth');
    } elseif ($e instanceof BadResponseException) {
        $kind = $e->getResponse()->getStatusCode() >= 500 ? 'server' : 'oauth';
    } elseif ($e instanceof RequestException && stripos($e->getMessage(), 'timed out') !== false) {
        $kind = 'timeout';
    } elseif ($e instanceof TransferException) {
        $kind = 'transport'; // ConnectException, or a TLS failure (RequestException without response)
    } elseif ($e instanceof JsonException || $e instanceof TypeError) {
        $kind = 'parse';
    }
    return ['kind' => $kind, 'message' => get_class($e) . ': ' . $e->getMessage()];
}

/** One page request of the shop: a worker process that makes one API call. */
function worker(bool $fix): void
{
    $job = json_decode(fgets(STDIN), true);
    try {
        connector($job['config'], $fix)->get($job['path']);
        emit(['ok' => true]);
    } catch (Throwable $e) {
        emit(['error' => error_reply($e)]);
    }
}

/** N page requests at once, each its own PHP process; the first failure is the reply. */
function call_parallel(array $cfg, string $path, int $n, bool $fix): array
{
    $workers = [];
    for ($i = 0; $i < $n; $i++) {
        $cmd = [PHP_BINARY, __FILE__, '--worker'];
        if ($fix) {
            $cmd[] = '--fix';
        }
        $proc = proc_open($cmd, [0 => ['pipe', 'r'], 1 => ['pipe', 'w'], 2 => STDERR], $pipes);
        fwrite($pipes[0], json_encode(['config' => $cfg, 'path' => $path]) . "\n");
        fclose($pipes[0]);
        $workers[] = [$proc, $pipes[1]];
    }
    $replies = [];
    foreach ($workers as [$proc, $out]) {
        $replies[] = json_decode(stream_get_contents($out) ?: 'null', true)
            ?? ['error' => ['kind' => 'other', 'message' => 'worker process died']];
        fclose($out);
        proc_close($proc);
    }
    foreach ($replies as $reply) {
        if (isset($reply['error'])) {
            return $reply;
        }
    }
    return ['ok' => true];
}

/** The module's OAuth callback, on a loopback listener: returns the redirect's query. */
function login_code(TwobaConnector $connector, int $seq): void
{
    $server = stream_socket_server('tcp://127.0.0.1:0', $errno, $errstr);
    $port = (int) substr(strrchr(stream_socket_get_name($server, false), ':'), 1);
    $redirectUri = "http://127.0.0.1:$port/callback";
    emit(['seq' => $seq, 'event' => 'authorize', 'url' => $connector->authorizationUrl($redirectUri)]);
    $conn = @stream_socket_accept($server, 60);
    if ($conn === false) {
        throw new RuntimeException('timeout: no redirect within 60 s');
    }
    $requestLine = fgets($conn);
    fwrite($conn, "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 9\r\nConnection: close\r\n\r\nConnected");
    fclose($conn);
    fclose($server);
    parse_str((string) parse_url(explode(' ', (string) $requestLine)[1] ?? '', PHP_URL_QUERY), $query);
    $connector->handleCallback($query, $redirectUri);
}

function guzzle_version(): string
{
    // Debian's package version without its revision (7.4.5-1 -> 7.4.5); Guzzle 7 itself only
    // declares ClientInterface::MAJOR_VERSION.
    $v = trim((string) shell_exec("dpkg-query -W -f='\${Version}' php-guzzlehttp-guzzle 2>/dev/null"));
    return $v === '' ? (string) GuzzleHttp\ClientInterface::MAJOR_VERSION : preg_replace('/-[^-]*$/', '', $v);
}

if (in_array('--worker', $argv, true)) {
    worker($fix);
    exit(0);
}

$cfg = null;
while (($line = fgets(STDIN)) !== false) {
    if (trim($line) === '') {
        continue;
    }
    $m = json_decode($line, true);
    $cmd = $m['cmd'] ?? null;
    $seq = $m['seq'] ?? null;
    if ($cmd === 'start') {
        $cfg = $m['config'];
        emit(['ready' => true, 'version' => ($m['version'] ?? 1) >= 2 ? 2 : 1, 'implementation' => [
            'name' => $fix ? 'php-guzzle+fix' : 'php-guzzle', 'version' => guzzle_version(), 'language' => 'php',
            'php' => PHP_VERSION, 'homepage' => 'https://docs.guzzlephp.org/',
            'issues' => 'https://github.com/guzzle/guzzle/issues',
        ]]);
        continue;
    }
    if ($cmd === 'stop') {
        break;
    }
    try {
        // Every command is a fresh request of the shop: nothing is kept in memory between them.
        $connector = connector($cfg, $fix);
        switch ($cmd) {
            case 'login_password':
                $connector->connectWithPassword($m['username'], $m['password']);
                break;
            case 'login_code':
                login_code($connector, $seq);
                break;
            case 'refresh':
                $connector->refreshAccessToken();
                break;
            case 'call_api':
                $reply = call_parallel($cfg, $m['path'], max(1, (int) ($m['concurrency'] ?? 1)), $fix);
                emit(['seq' => $seq] + $reply);
                continue 2;
            case 'advance_time':
                // time() cannot be moved in PHP: the stored expiry moves earlier instead.
                $options = new OptionStore($cfg['state_dir']);
                if ($options->get('twoba_token_expires') !== null) {
                    $options->update('twoba_token_expires', $options->get('twoba_token_expires') - (int) $m['seconds']);
                }
                break;
            case 'restart':
            case 'info':
                break;
            default:
                emit(['seq' => $seq, 'skipped' => ['reason' => "$cmd not supported"]]);
                continue 2;
        }
        emit(['seq' => $seq, 'ok' => true]);
    } catch (Throwable $e) {
        emit(['seq' => $seq, 'error' => error_reply($e)]);
    }
}
exit(0);
