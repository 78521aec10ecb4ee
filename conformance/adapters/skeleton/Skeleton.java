// A JSON-lines adapter (ADAPTERS.md, protocol 2) for a small 2BA client on java.net.http; JSON by Gson.
import com.google.gson.Gson;
import com.google.gson.JsonObject;
import java.io.*;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.*;
import java.nio.charset.StandardCharsets;
import java.nio.file.*;
import java.security.KeyStore;
import java.security.cert.CertificateFactory;
import java.time.Duration;
import java.util.*;
import java.util.concurrent.*;
import javax.net.ssl.*;

public class Skeleton {
    static final Gson GSON = new Gson();
    static final PrintStream OUT = new PrintStream(new FileOutputStream(FileDescriptor.out), true, StandardCharsets.UTF_8);

    static class Failure extends Exception {   // an error reply of this kind
        final String kind;
        Failure(String kind, String message) { super(message); this.kind = kind; }
    }

    final JsonObject cfg; final HttpClient http; final Path file; JsonObject tokens;

    Skeleton(JsonObject cfg) throws Exception {
        this.cfg = cfg; this.file = Path.of(str(cfg, "state_dir"), "tokens.json");
        HttpClient.Builder b = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1);
        if (has(cfg, "ca_file")) b.sslContext(trusting(str(cfg, "ca_file")));
        http = b.build();
        if (Files.exists(file)) tokens = GSON.fromJson(Files.readString(file), JsonObject.class);
    }

    static SSLContext trusting(String caFile) throws Exception {   // trust exactly the CAs of ca_file
        KeyStore ks = KeyStore.getInstance(KeyStore.getDefaultType());
        ks.load(null, null);
        try (InputStream in = new FileInputStream(caFile)) {
            int i = 0;
            for (var cert : CertificateFactory.getInstance("X.509").generateCertificates(in)) ks.setCertificateEntry("ca" + i++, cert);
        }
        TrustManagerFactory tmf = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
        tmf.init(ks);
        SSLContext ctx = SSLContext.getInstance("TLS");
        ctx.init(null, tmf.getTrustManagers(), null);
        return ctx;
    }

    HttpResponse<String> send(HttpRequest.Builder req) throws Failure, InterruptedException {
        try {
            return http.send(req.timeout(Duration.ofSeconds(20)).build(), HttpResponse.BodyHandlers.ofString());
        } catch (IOException e) {
            throw new Failure("transport", e.toString());
        }
    }

    synchronized void grant(Map<String, String> form) throws Exception {   // POST /OAuth/Token, credentials in the body
        form.put("client_id", str(cfg, "client_id"));
        if (has(cfg, "client_secret")) form.put("client_secret", str(cfg, "client_secret"));
        StringJoiner body = new StringJoiner("&");
        form.forEach((k, v) -> body.add(URLEncoder.encode(k, StandardCharsets.UTF_8) + "=" + URLEncoder.encode(v, StandardCharsets.UTF_8)));
        HttpResponse<String> r = send(HttpRequest.newBuilder(URI.create(str(cfg, "token_url")))
            .header("Content-Type", "application/x-www-form-urlencoded").POST(HttpRequest.BodyPublishers.ofString(body.toString())));
        if (r.statusCode() == 400 && "refresh_token".equals(form.get("grant_type"))) {   // the refresh token is dead
            tokens = null;
            Files.deleteIfExists(file);
            throw new Failure("relogin_required", "refresh rejected");
        }
        if (r.statusCode() != 200) throw status(r.statusCode());
        JsonObject fresh = GSON.fromJson(r.body(), JsonObject.class);
        if (!fresh.has("refresh_token") && tokens != null) fresh.add("refresh_token", tokens.get("refresh_token"));   // keep the old one
        tokens = fresh;
        Files.writeString(file, fresh.toString());
    }

    synchronized void refresh(String seen) throws Exception {   // one refresh at a time, never a stale one twice
        if (tokens == null) throw new Failure("relogin_required", "not logged in");
        if (seen == null || str(tokens, "access_token").equals(seen))
            grant(new HashMap<>(Map.of("grant_type", "refresh_token", "refresh_token", str(tokens, "refresh_token"))));
    }

    synchronized String accessToken() throws Failure {
        if (tokens == null) throw new Failure("relogin_required", "not logged in");
        return str(tokens, "access_token");
    }

    void call(String path) throws Exception {   // after a 401: one refresh, one retry
        for (int attempt = 1; ; attempt++) {
            String at = accessToken();
            int status = send(HttpRequest.newBuilder(URI.create(str(cfg, "product_api_base") + path))
                .header("Authorization", "Bearer " + at).GET()).statusCode();
            if (status != 401 || attempt == 2) {
                if (status >= 400) throw status(status);
                return;
            }
            refresh(at);
        }
    }

    static Failure status(int status) { return new Failure(status >= 500 ? "server" : "oauth", "HTTP " + status); }
    static boolean has(JsonObject o, String key) { return o.has(key) && !o.get(key).isJsonNull(); }
    static String str(JsonObject o, String key) { return o.get(key).getAsString(); }
    static synchronized void emit(Object reply) { OUT.println(GSON.toJson(reply)); }

    public static void main(String[] args) throws Exception {
        BufferedReader in = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
        Skeleton client = null;
        for (String line; (line = in.readLine()) != null; ) {
            JsonObject m = GSON.fromJson(line, JsonObject.class);
            String cmd = str(m, "cmd");
            Map<String, Object> reply = new LinkedHashMap<>();
            reply.put("seq", m.get("seq"));
            try {
                switch (cmd) {
                    case "start" -> {
                        client = new Skeleton(m.getAsJsonObject("config"));
                        emit(Map.of("ready", true, "version", 2, "implementation", Map.of("name", "skeleton", "version", "1", "language", "java")));
                        continue;
                    }
                    case "stop" -> { return; }
                    case "login_password" -> client.grant(new HashMap<>(Map.of("grant_type", "password",
                        "username", str(m, "username"), "password", str(m, "password"))));
                    case "refresh" -> client.refresh(null);
                    case "restart" -> client = new Skeleton(client.cfg);
                    case "advance_time" -> { }   // no clock of its own: it refreshes on a 401
                    case "call_api" -> {         // parallel calls; the first failure is the reply
                        Skeleton c = client;
                        String path = str(m, "path");
                        int n = has(m, "concurrency") ? m.get("concurrency").getAsInt() : 1;
                        ExecutorService pool = Executors.newFixedThreadPool(n);
                        List<Future<Object>> calls = new ArrayList<>();
                        for (int i = 0; i < n; i++) calls.add(pool.submit(() -> { c.call(path); return null; }));
                        pool.shutdown();
                        Exception first = null;
                        for (Future<Object> f : calls) {
                            try { f.get(); } catch (ExecutionException e) { if (first == null) first = (Exception) e.getCause(); }
                        }
                        if (first != null) throw first;
                    }
                    default -> {
                        reply.put("skipped", Map.of("reason", cmd + " not supported by this adapter"));
                        emit(reply);
                        continue;
                    }
                }
                reply.put("ok", true);
            } catch (Failure e) {
                reply.put("error", Map.of("kind", e.kind, "message", e.getMessage()));
            } catch (Exception e) {
                reply.put("error", Map.of("kind", "other", "message", String.valueOf(e)));
            }
            emit(reply);
        }
    }
}
