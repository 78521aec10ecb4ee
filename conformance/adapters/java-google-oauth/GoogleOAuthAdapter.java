// JSON-lines adapter (ADAPTERS.md, protocol 2) for the Google OAuth Client Library for Java
// (com.google.api.client.auth.oauth2, Debian libgoogle-oauth-client-java), used the way its
// OAuth 2.0 guide shows: a Credential built with Credential.Builder(BearerToken
// .authorizationHeaderAccessMethod()), the client credentials in the form body
// (ClientParametersAuthentication; BasicAuthentication for client_auth basic), its tokens kept
// in a DataStore (FileDataStoreFactory in the state folder, StoredCredential) that its
// DataStoreCredentialRefreshListener updates after every refresh, PasswordTokenRequest for the
// password grant, and for the code flow AuthorizationCodeFlow with enablePKCE() and the steps of
// the library's AuthorizationCodeInstalledApp (its loopback receiver is not packaged in Debian,
// so a small JDK HttpServer plays it: it takes code or error from the redirect, as
// LocalServerReceiver does). API calls go through transport.createRequestFactory(credential):
// the Credential refreshes in intercept() when its token expires within 60 s and in
// handleResponse() after a 401. The adapter adds nothing to that. `--fix` switches on what a
// partner adds for 2BA (between the 2ba-fix markers).
import com.google.api.client.auth.oauth2.AuthorizationCodeFlow;
import com.google.api.client.auth.oauth2.AuthorizationCodeRequestUrl;
import com.google.api.client.auth.oauth2.AuthorizationCodeResponseUrl;
import com.google.api.client.auth.oauth2.BearerToken;
import com.google.api.client.auth.oauth2.ClientParametersAuthentication;
import com.google.api.client.auth.oauth2.Credential;
import com.google.api.client.auth.oauth2.DataStoreCredentialRefreshListener;
import com.google.api.client.auth.oauth2.PasswordTokenRequest;
import com.google.api.client.auth.oauth2.StoredCredential;
import com.google.api.client.auth.oauth2.TokenResponse;
import com.google.api.client.auth.oauth2.TokenResponseException;
import com.google.api.client.http.BasicAuthentication;
import com.google.api.client.http.GenericUrl;
import com.google.api.client.http.HttpExecuteInterceptor;
import com.google.api.client.http.HttpResponseException;
import com.google.api.client.http.HttpTransport;
import com.google.api.client.http.javanet.NetHttpTransport;
import com.google.api.client.json.JsonFactory;
import com.google.api.client.json.gson.GsonFactory;
import com.google.api.client.util.Clock;
import com.google.api.client.util.store.DataStore;
import com.google.api.client.util.store.FileDataStoreFactory;
import com.google.gson.Gson;
import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import com.sun.net.httpserver.HttpServer;
import java.io.BufferedReader;
import java.io.File;
import java.io.FileInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicLong;

public final class GoogleOAuthAdapter {
  static final String USER_ID = "user";
  static final JsonFactory JSON_FACTORY = GsonFactory.getDefaultInstance();
  static final Gson GSON = new Gson();

  // The client's clock: the Credential reads the time only through its Clock
  // (Credential.getExpiresInSeconds), so advance_time moves this one.
  static final AtomicLong clockOffsetMillis = new AtomicLong();
  static final Clock CLOCK = () -> System.currentTimeMillis() + clockOffsetMillis.get();

  static boolean fix;

  final JsonObject cfg;
  final HttpTransport transport;
  final HttpExecuteInterceptor clientAuthentication;
  final DataStore<StoredCredential> dataStore;
  Credential credential; // null: logged out

  GoogleOAuthAdapter(JsonObject cfg) throws Exception {
    this.cfg = cfg;
    String caFile = str("ca_file");
    if (caFile == null) {
      transport = new NetHttpTransport();
    } else {
      try (InputStream in = new FileInputStream(caFile)) {
        transport = new NetHttpTransport.Builder().trustCertificatesFromStream(in).build();
      }
    }
    String secret = str("client_secret");
    clientAuthentication =
        "basic".equals(str("client_auth")) && secret != null
            ? new BasicAuthentication(str("client_id"), secret)
            : new ClientParametersAuthentication(str("client_id"), secret);
    dataStore =
        StoredCredential.getDefaultDataStore(new FileDataStoreFactory(new File(str("state_dir"))));
    StoredCredential stored = dataStore.get(USER_ID);
    if (stored != null) {
      credential =
          newCredential()
              .setAccessToken(stored.getAccessToken())
              .setRefreshToken(stored.getRefreshToken())
              .setExpirationTimeMilliseconds(stored.getExpirationTimeMilliseconds());
    }
  }

  String str(String key) {
    JsonElement e = cfg.get(key);
    return e == null || e.isJsonNull() ? null : e.getAsString();
  }

  List<String> scopes() {
    String scope = str("scope");
    return scope == null ? List.of() : Arrays.asList(scope.trim().split("\\s+"));
  }

  Credential newCredential() {
    Credential.Builder builder =
        new Credential.Builder(BearerToken.authorizationHeaderAccessMethod())
            .setTransport(transport)
            .setJsonFactory(JSON_FACTORY)
            .setTokenServerEncodedUrl(str("token_url"))
            .setClientAuthentication(clientAuthentication)
            .setClock(CLOCK)
            .addRefreshListener(new DataStoreCredentialRefreshListener(USER_ID, dataStore));
    // 2ba-fix:begin
    if (fix) {
      return new LoginRequiredCredential(builder, dataStore);
    }
    // 2ba-fix:end
    return builder.build();
  }

  // 2ba-fix:begin
  /**
   * A Credential that forgets its tokens when the token endpoint rejects the refresh (400 or
   * 401, with or without a JSON error body): the user must log in again. The library keeps the
   * refresh token and sends it again on the next request (Credential.refreshToken).
   */
  static final class LoginRequiredCredential extends Credential {
    private final DataStore<StoredCredential> store;

    LoginRequiredCredential(Credential.Builder builder, DataStore<StoredCredential> store) {
      super(builder);
      this.store = store;
    }

    @Override
    protected TokenResponse executeRefreshToken() throws IOException {
      try {
        return super.executeRefreshToken();
      } catch (TokenResponseException e) {
        if (e.getStatusCode() == 400 || e.getStatusCode() == 401) {
          setRefreshToken(null);
          setAccessToken(null);
          store.delete(USER_ID);
        }
        throw e;
      }
    }
  }

  static boolean loggedOut(Credential c) {
    return c == null || (c.getAccessToken() == null && c.getRefreshToken() == null);
  }
  // 2ba-fix:end

  /** Makes the token response the current credential and stores it, as createAndStoreCredential. */
  void keep(TokenResponse response) throws IOException {
    credential = newCredential().setFromTokenResponse(response);
    dataStore.set(USER_ID, new StoredCredential(credential));
  }

  void loginPassword(String username, String password) throws IOException {
    PasswordTokenRequest request =
        new PasswordTokenRequest(
                transport, JSON_FACTORY, new GenericUrl(str("token_url")), username, password)
            .setClientAuthentication(clientAuthentication);
    if (str("scope") != null) {
      request.setScopes(scopes());
    }
    keep(request.execute());
  }

  void refresh() throws IOException {
    if (credential == null) {
      throw new ReloginRequired("not logged in");
    }
    // 2ba-fix:begin
    if (fix && loggedOut(credential)) {
      throw new ReloginRequired("the refresh token was rejected: log in again");
    }
    // 2ba-fix:end
    if (!credential.refreshToken()) {
      // refreshToken() returns false without a refresh token and after a 5xx (it throws 4xx)
      if (credential.getRefreshToken() == null) {
        throw new ReloginRequired("no refresh token");
      }
      throw new ServerError("the token endpoint did not refresh (5xx or no answer)");
    }
  }

  void callApi(String path) throws IOException {
    if (credential == null) {
      throw new ReloginRequired("not logged in");
    }
    // 2ba-fix:begin
    if (fix && loggedOut(credential)) {
      throw new ReloginRequired("the refresh token was rejected: log in again");
    }
    // 2ba-fix:end
    String base = str("product_api_base") != null ? str("product_api_base") : str("api_base");
    transport
        .createRequestFactory(credential)
        .buildGetRequest(new GenericUrl(base + path))
        .execute()
        .disconnect();
  }

  void loginCode(int seq) throws Exception {
    AuthorizationCodeFlow flow =
        new AuthorizationCodeFlow.Builder(
                BearerToken.authorizationHeaderAccessMethod(),
                transport,
                JSON_FACTORY,
                new GenericUrl(str("token_url")),
                clientAuthentication,
                str("client_id"),
                str("authorize_url"))
            .setScopes(scopes())
            .enablePKCE()
            .build();
    HttpServer server =
        HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
    CompletableFuture<String> redirect = new CompletableFuture<>();
    server.createContext(
        "/",
        exchange -> {
          byte[] body = "Received. You may close this window.".getBytes(StandardCharsets.UTF_8);
          exchange.sendResponseHeaders(200, body.length);
          exchange.getResponseBody().write(body);
          exchange.close();
          redirect.complete(exchange.getRequestURI().toString());
        });
    server.start();
    try {
      String redirectUri = "http://127.0.0.1:" + server.getAddress().getPort() + "/callback";
      AuthorizationCodeRequestUrl url = flow.newAuthorizationUrl().setRedirectUri(redirectUri);
      String authorizeUrl = url.build();
      emit(Map.of("seq", seq, "event", "authorize", "url", authorizeUrl));
      String got = redirect.get(60, TimeUnit.SECONDS);
      AuthorizationCodeResponseUrl response =
          new AuthorizationCodeResponseUrl("http://127.0.0.1" + got);
      if (response.getError() != null) {
        throw new RedirectError(response.getError());
      }
      keep(flow.newTokenRequest(response.getCode()).setRedirectUri(redirectUri).execute());
    } finally {
      server.stop(0);
    }
  }

  static final class ReloginRequired extends IOException {
    ReloginRequired(String message) {
      super(message);
    }
  }

  static final class ServerError extends IOException {
    ServerError(String message) {
      super(message);
    }
  }

  static final class RedirectError extends IOException {
    final String error;

    RedirectError(String error) {
      super("User authorization failed (" + error + ")");
      this.error = error;
    }
  }

  /** The error member of a reply: the protocol's kind and the library's own words. */
  static Map<String, Object> errorReply(Throwable e) {
    if (e instanceof ExecutionException && e.getCause() != null) {
      e = e.getCause();
    }
    String kind = "other";
    if (e instanceof ReloginRequired) {
      kind = "relogin_required";
    } else if (e instanceof ServerError) {
      kind = "server";
    } else if (e instanceof RedirectError) {
      kind = "access_denied".equals(((RedirectError) e).error) ? "access_denied" : "oauth";
    } else if (e instanceof TimeoutException) {
      kind = "timeout";
    } else if (e instanceof TokenResponseException) {
      TokenResponseException t = (TokenResponseException) e;
      if (t.getStatusCode() >= 500) {
        kind = "server";
      } else if (t.getDetails() != null && "invalid_grant".equals(t.getDetails().getError())) {
        kind = "relogin_required";
      } else {
        kind = "oauth";
      }
    } else if (e instanceof HttpResponseException) {
      kind = ((HttpResponseException) e).getStatusCode() >= 500 ? "server" : "oauth";
    } else if (e instanceof IllegalArgumentException
        || e instanceof com.google.gson.JsonParseException
        || e instanceof com.google.gson.stream.MalformedJsonException) {
      kind = "parse";
    } else if (e instanceof IOException) {
      kind = "transport";
    }
    Map<String, Object> error = new LinkedHashMap<>();
    error.put("kind", kind);
    error.put("message", e.getClass().getSimpleName() + ": " + e.getMessage());
    return error;
  }

  static synchronized void emit(Map<String, ?> reply) {
    System.out.println(GSON.toJson(reply));
    System.out.flush();
  }

  static Map<String, Object> reply(JsonElement seq, String key, Object value) {
    Map<String, Object> m = new LinkedHashMap<>();
    m.put("seq", seq == null ? null : seq.getAsInt());
    m.put(key, value);
    return m;
  }

  public static void main(String[] args) throws Exception {
    fix = Arrays.asList(args).contains("--fix");
    BufferedReader in =
        new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
    ExecutorService pool = Executors.newCachedThreadPool();
    GoogleOAuthAdapter a = null;
    for (String line; (line = in.readLine()) != null; ) {
      if (line.isBlank()) {
        continue;
      }
      JsonObject m = JsonParser.parseString(line).getAsJsonObject();
      String cmd = m.get("cmd").getAsString();
      JsonElement seq = m.get("seq");
      if (cmd.equals("start")) {
        a = new GoogleOAuthAdapter(m.getAsJsonObject("config"));
        Map<String, Object> implementation = new LinkedHashMap<>();
        implementation.put("name", "google-oauth-client" + (fix ? " + 2BA fix" : ""));
        implementation.put("version", System.getProperty("twoba.library.version", "unknown"));
        implementation.put("language", "java");
        implementation.put("java", System.getProperty("java.version"));
        implementation.put("homepage", "https://github.com/googleapis/google-oauth-java-client");
        implementation.put("issues", "https://github.com/googleapis/google-oauth-java-client/issues");
        Map<String, Object> ready = new LinkedHashMap<>();
        ready.put("ready", true);
        ready.put("version", m.has("version") && m.get("version").getAsInt() >= 2 ? 2 : 1);
        ready.put("implementation", implementation);
        emit(ready);
        continue;
      }
      if (cmd.equals("stop")) {
        break;
      }
      try {
        switch (cmd) {
          case "login_password":
            a.loginPassword(m.get("username").getAsString(), m.get("password").getAsString());
            break;
          case "login_code":
            a.loginCode(seq.getAsInt());
            break;
          case "refresh":
            a.refresh();
            break;
          case "restart":
            a = new GoogleOAuthAdapter(a.cfg);
            break;
          case "info":
            break;
          case "advance_time":
            clockOffsetMillis.addAndGet(m.get("seconds").getAsLong() * 1000);
            break;
          case "call_api":
            {
              int n = m.has("concurrency") ? Math.max(1, m.get("concurrency").getAsInt()) : 1;
              String path = m.get("path").getAsString();
              GoogleOAuthAdapter current = a;
              List<Future<?>> calls = new ArrayList<>();
              for (int i = 0; i < n; i++) {
                calls.add(pool.submit(() -> { current.callApi(path); return null; }));
              }
              Exception first = null;
              for (Future<?> f : calls) { // the first failure is the reply
                try {
                  f.get();
                } catch (ExecutionException e) {
                  first = first == null ? e : first;
                }
              }
              if (first != null) {
                throw first;
              }
              break;
            }
          default:
            emit(reply(seq, "skipped", Map.of("reason", cmd + " not supported")));
            continue;
        }
        emit(reply(seq, "ok", true));
      } catch (Exception e) {
        emit(reply(seq, "error", errorReply(e)));
      }
    }
    System.exit(0);
  }
}
