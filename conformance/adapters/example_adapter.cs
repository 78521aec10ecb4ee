// The smallest JSON-lines adapter (ADAPTERS.md, protocol 2) in C#, for Mono (mono-devel) or .NET:
// password login, API calls that refresh once after a 401 (one refresh at a time), refresh,
// restart from tokens.json. mcs -r:System.Runtime.Serialization.dll example_adapter.cs
using System; using System.Collections.Specialized; using System.IO; using System.Net; using System.Runtime.Serialization;
using System.Runtime.Serialization.Json; using System.Linq; using System.Text; using System.Threading.Tasks;

[DataContract] class Config { [DataMember] public string token_url, product_api_base, client_id, client_secret, state_dir; }
[DataContract] class Msg { [DataMember] public string cmd, username, password, path; [DataMember] public int? seq; [DataMember] public int concurrency; [DataMember] public Config config; }
[DataContract] class Token { [DataMember] public string access_token, refresh_token; }

static class Adapter {
    static Config cfg; static Token tok; static readonly object refreshLock = new object();
    static T Read<T>(string json) { return (T)new DataContractJsonSerializer(typeof(T)).ReadObject(new MemoryStream(Encoding.UTF8.GetBytes(json))); }
    static string Store { get { return Path.Combine(cfg.state_dir, "tokens.json"); } }
    static void Grant(NameValueCollection form) {
        form["client_id"] = cfg.client_id; form["client_secret"] = cfg.client_secret;
        try {
            var t = Read<Token>(Encoding.UTF8.GetString(new WebClient().UploadValues(cfg.token_url, form)));
            if (t.refresh_token == null && tok != null) t.refresh_token = tok.refresh_token; // not rotated: keep it
            tok = t; using (var f = File.Create(Store)) new DataContractJsonSerializer(typeof(Token)).WriteObject(f, t);
        } catch (WebException e) when (form["grant_type"] == "refresh_token" && (e.Response as HttpWebResponse)?.StatusCode == HttpStatusCode.BadRequest) {
            tok = null; File.Delete(Store); throw new InvalidOperationException("relogin_required");
        }
    }
    static void Refresh(string seen) { lock (refreshLock) {
        if (tok == null) throw new InvalidOperationException("relogin_required");
        if (seen == null || tok.access_token == seen) Grant(new NameValueCollection { { "grant_type", "refresh_token" }, { "refresh_token", tok.refresh_token } });
    } }
    static void Call(string path) {
        for (int attempt = 1; ; attempt++) {
            if (tok == null) throw new InvalidOperationException("relogin_required");
            var at = tok.access_token; var web = new WebClient(); web.Headers["Authorization"] = "Bearer " + at;
            try { web.DownloadString(cfg.product_api_base + path); return; }
            catch (WebException e) when (attempt == 1 && (e.Response as HttpWebResponse)?.StatusCode == HttpStatusCode.Unauthorized) { Refresh(at); }
        }
    }
    static void Main() {
        string line;
        while ((line = Console.ReadLine()) != null) {
            var m = Read<Msg>(line); var seq = m.seq.HasValue ? m.seq.ToString() : "null"; string reply = "{\"seq\":" + seq + ",\"ok\":true}";
            try {
                switch (m.cmd) {
                    case "stop": return;
                    case "start": cfg = m.config; reply = "{\"ready\":true,\"version\":2,\"implementation\":{\"name\":\"example-csharp\",\"version\":\"1\"}}"; goto case "restart";
                    case "restart": tok = File.Exists(Store) ? Read<Token>(File.ReadAllText(Store)) : null; break;
                    case "login_password": Grant(new NameValueCollection { { "grant_type", "password" }, { "username", m.username }, { "password", m.password } }); break;
                    case "refresh": Refresh(null); break;
                    case "call_api": Task.WaitAll(new Task[Math.Max(1, m.concurrency)].Select(_ => Task.Run(() => Call(m.path))).ToArray()); break;
                    case "advance_time": case "info": break; // no clock of its own: it refreshes after a 401
                    default: reply = "{\"seq\":" + seq + ",\"skipped\":{\"reason\":\"not supported\"}}"; break;
                }
            } catch (Exception e) {
                var inner = e is AggregateException ? e.InnerException : e;
                var kind = inner.Message == "relogin_required" ? "relogin_required" : inner is WebException ? "oauth" : "other";
                reply = "{\"seq\":" + seq + ",\"error\":{\"kind\":\"" + kind + "\"}}";
            }
            Console.WriteLine(reply); Console.Out.Flush();
        }
    }
}
