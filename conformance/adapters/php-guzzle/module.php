<?php
// The 2BA connector of a webshop module, written the way WordPress, Magento and PrestaShop
// modules write theirs on Guzzle 7: the tokens live in the shop's option store (one value per
// key, as update_option / Configuration::updateValue / the config writer keep them), the token
// request is a Guzzle POST with form_params, and before every API call the stored expiry time
// is compared with the clock, refreshing 30 seconds early (the margin of google/apiclient's
// Client::isAccessTokenExpired, which many modules copy). Every PHP request of the shop is its
// own process; they share nothing but the option store.
// Modules with the same pattern: luck2/base-to-wp BaseOAuthWP.php (update_option per token
// field, expiry compared with the clock), OblioSoftware/oblio-prestashop
// classes/OblioApiPrestashopAccessTokenHandler.php (Configuration::updateValue, request_time +
// expires_in > time()), fabian/statusboard web/ga/refresh.php (Guzzle form_params refresh, a
// RequestException only logged), elib19/mercadopagosplitpay functions/cron.php (the reply's
// refresh_token stored as it comes).

use GuzzleHttp\Client;
use GuzzleHttp\Exception\ClientException;

/** A key-value store persisted as one JSON file, each update atomic like a row of wp_options. */
class OptionStore
{
    private string $path;

    public function __construct(string $dir)
    {
        $this->path = $dir . '/options.json';
    }

    public function path(): string
    {
        return $this->path;
    }

    public function get(string $key, $default = null)
    {
        return $this->locked(LOCK_SH, fn (array $all) => $all)[$key] ?? $default;
    }

    public function update(string $key, $value): void
    {
        $this->locked(LOCK_EX, function (array $all) use ($key, $value) {
            $all[$key] = $value;
            return $all;
        }, true);
    }

    public function delete(string $key): void
    {
        $this->locked(LOCK_EX, function (array $all) use ($key) {
            unset($all[$key]);
            return $all;
        }, true);
    }

    private function locked(int $mode, callable $change, bool $write = false): array
    {
        $f = fopen($this->path, 'c+');
        flock($f, $mode);
        $all = json_decode(stream_get_contents($f) ?: '{}', true) ?: [];
        $all = $change($all);
        if ($write) {
            ftruncate($f, 0);
            rewind($f);
            fwrite($f, json_encode($all));
            fflush($f);
        }
        flock($f, LOCK_UN);
        fclose($f);
        return $all;
    }
}

class TwobaNotConnected extends RuntimeException
{
}

class TwobaAuthorizationFailed extends RuntimeException
{
}

class TwobaConnector
{
    protected OptionStore $options;
    protected array $settings;
    protected Client $http;

    /** $settings: token_url, authorize_url, api_base, client_id, client_secret, client_auth, scope, ca_file */
    public function __construct(OptionStore $options, array $settings)
    {
        $this->options = $options;
        $this->settings = $settings;
        $this->http = new Client(['timeout' => 20, 'verify' => $settings['ca_file'] ?: true]);
    }

    public function connectWithPassword(string $username, string $password): void
    {
        $this->requestToken(['grant_type' => 'password', 'username' => $username, 'password' => $password]);
    }

    public function authorizationUrl(string $redirectUri): string
    {
        $state = bin2hex(random_bytes(16));
        $this->options->update('twoba_oauth_state', $state);
        return $this->settings['authorize_url'] . '?' . http_build_query([
            'response_type' => 'code',
            'client_id' => $this->settings['client_id'],
            'redirect_uri' => $redirectUri,
            'scope' => $this->settings['scope'],
            'state' => $state,
        ]);
    }

    /** The module's OAuth callback controller, $query being its $_GET. */
    public function handleCallback(array $query, string $redirectUri): void
    {
        if (!hash_equals((string) $this->options->get('twoba_oauth_state'), (string) ($query['state'] ?? ''))) {
            throw new TwobaAuthorizationFailed('state_mismatch');
        }
        if (isset($query['error'])) {
            throw new TwobaAuthorizationFailed($query['error']);
        }
        $this->requestToken(['grant_type' => 'authorization_code', 'code' => $query['code'], 'redirect_uri' => $redirectUri]);
    }

    public function refreshAccessToken(): void
    {
        $this->requestToken(['grant_type' => 'refresh_token', 'refresh_token' => $this->options->get('twoba_refresh_token')]);
    }

    public function get(string $path): array
    {
        $response = $this->http->get($this->settings['api_base'] . $path, [
            'headers' => ['Authorization' => 'Bearer ' . $this->getAccessToken(), 'Accept' => 'application/json'],
        ]);
        return json_decode((string) $response->getBody(), true) ?? [];
    }

    protected function getAccessToken(): string
    {
        if (!$this->options->get('twoba_access_token')) {
            throw new TwobaNotConnected('not connected to 2BA');
        }
        if ($this->isAccessTokenExpired()) {
            $this->refreshAccessToken();
        }
        return $this->options->get('twoba_access_token');
    }

    protected function isAccessTokenExpired(): bool
    {
        return $this->options->get('twoba_token_expires') - 30 < time();
    }

    protected function requestToken(array $params): void
    {
        $options = ['form_params' => $params + ['scope' => $this->settings['scope']]];
        if ($this->settings['client_auth'] === 'basic') {
            $options['auth'] = [$this->settings['client_id'], $this->settings['client_secret']];
        } else {
            $options['form_params'] += ['client_id' => $this->settings['client_id'], 'client_secret' => $this->settings['client_secret']];
        }
        $response = $this->http->post($this->settings['token_url'], $options);
        $this->saveToken(json_decode((string) $response->getBody(), true));
    }

    protected function saveToken($data): void
    {
        $this->options->update('twoba_access_token', $data['access_token']);
        $this->options->update('twoba_refresh_token', $data['refresh_token']);
        $this->options->update('twoba_token_expires', time() + $data['expires_in']);
    }
}

// 2ba-fix:begin
/**
 * The connector with what 2BA needs: one refresh at a time across all PHP processes (a lock
 * file; the process that waited uses the token the other one got), a refresh and one retry
 * after a 401, the user sent back to the login when 2BA refuses the refresh token (400), and
 * the refresh token kept when a reply carries none.
 */
class FixedTwobaConnector extends TwobaConnector
{
    private ?string $sentAccessToken = null;

    public function refreshAccessToken(?string $seenAccessToken = null): void
    {
        $lock = fopen($this->options->path() . '.lock', 'c');
        flock($lock, LOCK_EX);
        try {
            if ($seenAccessToken !== null && $this->options->get('twoba_access_token') !== $seenAccessToken) {
                return; // another request refreshed while this one waited
            }
            if (!$this->options->get('twoba_refresh_token')) {
                throw new TwobaNotConnected('no refresh token: log in to 2BA again');
            }
            try {
                parent::refreshAccessToken();
            } catch (ClientException $e) {
                if ($e->getResponse()->getStatusCode() !== 400) {
                    throw $e;
                }
                foreach (['twoba_access_token', 'twoba_refresh_token', 'twoba_token_expires'] as $key) {
                    $this->options->delete($key);
                }
                throw new TwobaNotConnected('2BA refused the refresh token: log in to 2BA again', 0, $e);
            }
        } finally {
            flock($lock, LOCK_UN);
            fclose($lock);
        }
    }

    public function get(string $path): array
    {
        try {
            return parent::get($path);
        } catch (ClientException $e) {
            if ($e->getResponse()->getStatusCode() !== 401) {
                throw $e;
            }
            $this->refreshAccessToken($this->sentAccessToken); // unless another request already did
            return parent::get($path);
        }
    }

    protected function getAccessToken(): string
    {
        $accessToken = $this->options->get('twoba_access_token');
        if (!$accessToken) {
            throw new TwobaNotConnected('not connected to 2BA');
        }
        if ($this->isAccessTokenExpired()) {
            $this->refreshAccessToken($accessToken);
        }
        return $this->sentAccessToken = $this->options->get('twoba_access_token');
    }

    protected function isAccessTokenExpired(): bool
    {
        // No expires_in: only a 401 tells. A short lifetime: a margin of half of it, not 30 s.
        $expires = $this->options->get('twoba_token_expires');
        $margin = min(30, intdiv((int) $this->options->get('twoba_token_lifetime'), 2));
        return $expires !== null && $expires - $margin < time();
    }

    protected function saveToken($data): void
    {
        $data['refresh_token'] = $data['refresh_token'] ?? $this->options->get('twoba_refresh_token');
        parent::saveToken($data);
        $this->options->update('twoba_token_lifetime', $data['expires_in'] ?? null);
        if (!isset($data['expires_in'])) {
            $this->options->delete('twoba_token_expires');
        }
    }
}
// 2ba-fix:end
