// A JSON-lines adapter (ADAPTERS.md, protocol 2) for a small 2BA client on HttpClient (Mono, .NET).
using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Net;
using System.Net.Http;
using System.Net.Security;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using System.Threading;
using System.Threading.Tasks;
using System.Web.Script.Serialization;

class Failure : Exception {   // an error reply of this kind
    public readonly string Kind;
    public Failure(string kind, string message) : base(message) { Kind = kind; }
    public static Failure Status(int status) { return new Failure(status >= 500 ? "server" : "oauth", "HTTP " + status); }
}

class Client {
    static readonly JavaScriptSerializer Json = new JavaScriptSerializer { MaxJsonLength = int.MaxValue };
    public readonly Dictionary<string, object> Cfg;
    readonly HttpClient http;
    readonly SemaphoreSlim refreshLock = new SemaphoreSlim(1);   // one refresh at a time
    readonly string file;
    Dictionary<string, object> tokens;

    public Client(Dictionary<string, object> cfg) {
        Cfg = cfg;
        file = Path.Combine((string)cfg["state_dir"], "tokens.json");
        if (File.Exists(file)) tokens = Json.Deserialize<Dictionary<string, object>>(File.ReadAllText(file));
        var handler = new HttpClientHandler();
        if (cfg.ContainsKey("ca_file") && cfg["ca_file"] != null) handler.ServerCertificateCustomValidationCallback = Trusting((string)cfg["ca_file"]);
        http = new HttpClient(handler) { Timeout = TimeSpan.FromSeconds(20) };
    }

    // Trust exactly the CA of ca_file; host name and validity are still checked.
    static Func<HttpRequestMessage, X509Certificate2, X509Chain, SslPolicyErrors, bool> Trusting(string caFile) {
        var ca = new X509Certificate2(caFile);
        return (request, cert, chain, errors) => {
            if ((errors & ~SslPolicyErrors.RemoteCertificateChainErrors) != 0) return false;
            var own = new X509Chain();
            own.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
            own.ChainPolicy.VerificationFlags = X509VerificationFlags.AllowUnknownCertificateAuthority;
            own.ChainPolicy.ExtraStore.Add(ca);
            return own.Build(new X509Certificate2(cert))
                && own.ChainElements[own.ChainElements.Count - 1].Certificate.Thumbprint == ca.Thumbprint;
        };
    }

    async Task<Tuple<int, string>> Send(HttpRequestMessage req) {
        try {
            using (var r = await http.SendAsync(req))
                return Tuple.Create((int)r.StatusCode, await r.Content.ReadAsStringAsync());
        } catch (Exception e) when (e is HttpRequestException || e is TaskCanceledException) {
            throw new Failure("transport", e.InnerException?.Message ?? e.Message);
        }
    }

    public async Task Grant(Dictionary<string, string> form) {   // POST /OAuth/Token, credentials in the body
        form["client_id"] = (string)Cfg["client_id"];
        if (Cfg.ContainsKey("client_secret") && Cfg["client_secret"] != null) form["client_secret"] = (string)Cfg["client_secret"];
        var r = await Send(new HttpRequestMessage(HttpMethod.Post, (string)Cfg["token_url"]) { Content = new FormUrlEncodedContent(form) });
        if (r.Item1 == 400 && form["grant_type"] == "refresh_token") {   // the refresh token is dead
            tokens = null;
            File.Delete(file);
            throw new Failure("relogin_required", "refresh rejected");
        }
        if (r.Item1 != 200) throw Failure.Status(r.Item1);
        var fresh = Json.Deserialize<Dictionary<string, object>>(r.Item2);
        if (!fresh.ContainsKey("refresh_token") && tokens != null) fresh["refresh_token"] = tokens["refresh_token"];   // keep the old one
        tokens = fresh;
        File.WriteAllText(file, Json.Serialize(fresh));
    }

    public async Task Refresh(string seen) {   // one refresh at a time, never a stale one twice
        await refreshLock.WaitAsync();
        try {
            if (tokens == null) throw new Failure("relogin_required", "not logged in");
            if (seen == null || (string)tokens["access_token"] == seen)
                await Grant(new Dictionary<string, string> { ["grant_type"] = "refresh_token", ["refresh_token"] = (string)tokens["refresh_token"] });
        } finally {
            refreshLock.Release();
        }
    }

    public async Task Call(string path) {   // after a 401: one refresh, one retry
        for (int attempt = 1; ; attempt++) {
            var t = tokens;
            if (t == null) throw new Failure("relogin_required", "not logged in");
            var at = (string)t["access_token"];
            var req = new HttpRequestMessage(HttpMethod.Get, (string)Cfg["product_api_base"] + path);
            req.Headers.TryAddWithoutValidation("Authorization", "Bearer " + at);
            int status = (await Send(req)).Item1;
            if (status != 401 || attempt == 2) {
                if (status >= 400) throw Failure.Status(status);
                return;
            }
            await Refresh(at);
        }
    }
}

static class Program {
    static readonly JavaScriptSerializer Json = new JavaScriptSerializer { MaxJsonLength = int.MaxValue };

    static void Reply(object reply) {
        lock (Json) { Console.Out.Write(Json.Serialize(reply) + "\n"); Console.Out.Flush(); }
    }

    static void Main() {
        Console.OutputEncoding = new UTF8Encoding(false);
        var stdin = new StreamReader(Console.OpenStandardInput(), new UTF8Encoding(false));
        Client client = null;
        for (string line; (line = stdin.ReadLine()) != null; ) {
            var m = Json.Deserialize<Dictionary<string, object>>(line);
            var cmd = (string)m["cmd"];
            var seq = m.ContainsKey("seq") ? m["seq"] : null;
            try {
                switch (cmd) {
                    case "start":
                        client = new Client((Dictionary<string, object>)m["config"]);
                        Reply(new Dictionary<string, object> { ["ready"] = true, ["version"] = 2,
                            ["implementation"] = new Dictionary<string, string> { ["name"] = "skeleton", ["version"] = "1", ["language"] = "c#" } });
                        continue;
                    case "stop": return;
                    case "login_password":
                        client.Grant(new Dictionary<string, string> { ["grant_type"] = "password",
                            ["username"] = (string)m["username"], ["password"] = (string)m["password"] }).GetAwaiter().GetResult();
                        break;
                    case "refresh": client.Refresh(null).GetAwaiter().GetResult(); break;
                    case "restart": client = new Client(client.Cfg); break;
                    case "advance_time": break;   // no clock of its own: it refreshes on a 401
                    case "call_api": {            // parallel calls; the first failure is the reply
                        var path = (string)m["path"];
                        int n = m.ContainsKey("concurrency") ? Convert.ToInt32(m["concurrency"]) : 1;
                        var calls = Enumerable.Range(0, n).Select(_ => Task.Run(() => client.Call(path))).ToArray();
                        try { Task.WaitAll(calls); } catch (AggregateException) { }
                        var failed = calls.FirstOrDefault(c => c.IsFaulted);
                        if (failed != null) throw failed.Exception.InnerException;
                        break;
                    }
                    default:
                        Reply(new Dictionary<string, object> { ["seq"] = seq, ["skipped"] = new Dictionary<string, string> { ["reason"] = cmd + " not supported by this adapter" } });
                        continue;
                }
                Reply(new Dictionary<string, object> { ["seq"] = seq, ["ok"] = true });
            } catch (Failure e) {
                Reply(new Dictionary<string, object> { ["seq"] = seq, ["error"] = new Dictionary<string, string> { ["kind"] = e.Kind, ["message"] = e.Message } });
            } catch (Exception e) {
                Reply(new Dictionary<string, object> { ["seq"] = seq, ["error"] = new Dictionary<string, string> { ["kind"] = "other", ["message"] = e.ToString() } });
            }
        }
    }
}
