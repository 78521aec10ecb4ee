// JSON-lines adapter (ADAPTERS.md, protocol 2) around 2BA's C# sample code. Not graded: it plays
// the WinForms application around the sample (the form, its message box, the embedded browser)
// and turns the kit's commands into the sample's button clicks. The sample is Sample.cs; with
// --fix the copy a partner fixed, SampleFixed.cs.
using System;
using System.Collections.Generic;
using System.IO;
using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Runtime.Serialization;
using System.Runtime.Serialization.Json;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using System.Threading;
using Mono.Security.Interface;

namespace TwoBA.Properties
{
    // Stands in for the application's user settings (Properties.Settings.Default, saved to
    // user.config): here a file in the scenario's state directory, one "name=value" line each.
    public class Settings
    {
        public static Settings Default;
        readonly string path;
        public string RefreshToken { get; set; }

        public Settings(string path)
        {
            this.path = path;
            if (!File.Exists(path)) return;
            foreach (var line in File.ReadAllLines(path))
                if (line.StartsWith("RefreshToken=")) RefreshToken = Uri.UnescapeDataString(line.Substring(13));
        }

        public void Save()
        {
            File.WriteAllText(path, RefreshToken == null ? "" : "RefreshToken=" + Uri.EscapeDataString(RefreshToken) + "\n");
        }
    }
}

namespace TwoBA
{
    // Stand-ins for the System.Windows.Forms types the sample uses.
    public class TextBox { public string Text; }

    public enum DialogResult { None, OK, Cancel }

    public class WebBrowserNavigatedEventArgs : EventArgs
    {
        public Uri Url { get; private set; }
        public WebBrowserNavigatedEventArgs(Uri url) { Url = url; }
    }

    // The message box the sample shows on a failure: the adapter reports its text as the error.
    public static class MessageBox
    {
        [ThreadStatic] public static string Last;
        public static void Show(string text)
        {
            Last = text;
            Console.Error.WriteLine("message box: " + text);
        }
    }

    // Thrown by the fixed sample when the user must log in again.
    public class LoginRequiredException : Exception
    {
        public LoginRequiredException(string message) : base(message) { }
    }

    public static class GlobalVariables
    {
        public static string AuthorizeServer; // token_url without /OAuth/Token
        public static string ResourceServer;  // product_api_base (protocol 2) or api_base
        public static string RedirectUri;     // the loopback listener of WebBrowser
    }

    // The embedded browser: Navigate hands the URL to the kit (which plays the user and delivers
    // the redirect), the redirect arrives at a loopback listener and raises Navigated.
    public class WebBrowser
    {
        public event Action<object, WebBrowserNavigatedEventArgs> Navigated;
        HttpListener listener;

        public string Listen()
        {
            var probe = new TcpListener(IPAddress.Loopback, 0);
            probe.Start();
            int port = ((IPEndPoint)probe.LocalEndpoint).Port;
            probe.Stop();
            listener = new HttpListener();
            listener.Prefixes.Add(string.Format("http://127.0.0.1:{0}/", port));
            listener.Start();
            new Thread(Serve) { IsBackground = true }.Start();
            return string.Format("http://127.0.0.1:{0}/callback", port);
        }

        void Serve()
        {
            var l = listener;
            while (true)
            {
                HttpListenerContext ctx;
                try { ctx = l.GetContext(); } catch (Exception) { return; }
                var url = ctx.Request.Url;
                var page = Encoding.UTF8.GetBytes("<html><body>You may close this window.</body></html>");
                ctx.Response.ContentType = "text/html";
                ctx.Response.OutputStream.Write(page, 0, page.Length);
                ctx.Response.Close();
                var handler = Navigated;
                if (handler != null) handler(this, new WebBrowserNavigatedEventArgs(url));
            }
        }

        public void Navigate(Uri url) { Program.Emit("{\"seq\":" + Program.CurrentSeq + ",\"event\":\"authorize\",\"url\":" + Json.Str(url.AbsoluteUri) + "}"); }

        public void Stop() { if (listener != null) { listener.Close(); listener = null; } }
    }

    // The WinForms form the sample lives in, and what the adapter calls on it.
    public abstract class Form
    {
        public WebBrowser WebBrowser1 = new WebBrowser();
        public DialogResult DialogResult;
        readonly ManualResetEvent closed = new ManualResetEvent(false);

        public void Close() { closed.Set(); }

        // Waits for the browser dialog to close; the user may never finish (a cancelled login).
        public DialogResult ShowDialog()
        {
            DialogResult = DialogResult.None;
            closed.Reset();
            if (!closed.WaitOne(TimeSpan.FromSeconds(60))) DialogResult = DialogResult.Cancel;
            WebBrowser1.Stop();
            return DialogResult;
        }

        public abstract void SetCredentials(string username, string password, string clientId, string clientSecret, string scope);
        public abstract void BtnLoginClick(object sender, EventArgs e);
        public abstract void BtnRefreshAccesTokenClick(object sender, EventArgs e);
        public abstract void BtnAuthorizeClick(object sender, EventArgs e);
        public abstract string GetProductJson(string path);
        public abstract void AdvanceTime(int seconds);
    }

    [DataContract]
    public class Config
    {
        [DataMember(Name = "token_url")] public string TokenUrl;
        [DataMember(Name = "authorize_url")] public string AuthorizeUrl;
        [DataMember(Name = "api_base")] public string ApiBase;
        [DataMember(Name = "product_api_base")] public string ProductApiBase;
        [DataMember(Name = "client_id")] public string ClientId;
        [DataMember(Name = "client_secret")] public string ClientSecret;
        [DataMember(Name = "client_auth")] public string ClientAuth;
        [DataMember(Name = "state_dir")] public string StateDir;
        [DataMember(Name = "ca_file")] public string CaFile;
        [DataMember(Name = "scope")] public string Scope;
    }

    [DataContract]
    public class Message
    {
        [DataMember(Name = "cmd")] public string Cmd;
        [DataMember(Name = "seq")] public int? Seq;
        [DataMember(Name = "version")] public int Version;
        [DataMember(Name = "config")] public Config Config;
        [DataMember(Name = "username")] public string Username;
        [DataMember(Name = "password")] public string Password;
        [DataMember(Name = "path")] public string Path;
        [DataMember(Name = "concurrency")] public int Concurrency;
        [DataMember(Name = "seconds")] public int Seconds;
    }

    public static class Json
    {
        public static string Str(string s)
        {
            if (s == null) return "null";
            var b = new StringBuilder("\"");
            foreach (char c in s)
            {
                if (c == '"' || c == '\\') b.Append('\\').Append(c);
                else if (c < 0x20) b.AppendFormat("\\u{0:x4}", (int)c);
                else b.Append(c);
            }
            return b.Append('"').ToString();
        }
    }

    public static class Program
    {
        static readonly object outLock = new object();
        public static string CurrentSeq = "null";
        static bool fix;
        static Form form;
        static string stateDir;

        public static void Emit(string line)
        {
            lock (outLock) { Console.Out.Write(line + "\n"); Console.Out.Flush(); }
        }

        static Form NewForm()
        {
            Properties.Settings.Default = new Properties.Settings(Path.Combine(stateDir, "user.config"));
            if (fix) return new TwoBA.SampleFixed.LoginForm();
            return new TwoBA.Sample.LoginForm();
        }

        // Trusts the scenario's CA (ca_file) instead of the system store; chain, dates and name are
        // still checked by Mono's TLS (btls). Not in the sample: authorize.2ba.nl needs none of this.
        static void TrustCaFile(string path)
        {
            MonoTlsSettings.DefaultSettings.TrustAnchors = new X509CertificateCollection { new X509Certificate(File.ReadAllBytes(path)) };
            ServicePointManager.ServerCertificateValidationCallback = (sender, cert, chain, errors) =>
                InDate(cert) && (errors == SslPolicyErrors.None ||
                (errors == SslPolicyErrors.RemoteCertificateNameMismatch && IpInAltNames(cert, sender as HttpWebRequest)));
        }

        // With TrustAnchors, Mono 6.8's btls validation does not report an expired certificate
        // (its errors are those of a valid one), where a system trust store would refuse it.
        static bool InDate(X509Certificate cert)
        {
            var c = new X509Certificate2(cert);
            return c.NotBefore <= DateTime.Now && DateTime.Now <= c.NotAfter;
        }

        // Mono matches the host name only against DNS names of subjectAltName, never an IP address
        // entry, so a certificate for https://127.0.0.1 (the kit's) is a name mismatch to it. This
        // does that one match: an iPAddress entry ([7], 4 bytes) equal to the request's IP literal.
        static bool IpInAltNames(X509Certificate cert, HttpWebRequest request)
        {
            IPAddress ip;
            if (cert == null || request == null || !IPAddress.TryParse(request.Address.Host, out ip)) return false;
            var ext = new X509Certificate2(cert).Extensions["2.5.29.17"];
            if (ext == null) return false;
            var want = new List<byte> { 0x87, (byte)ip.GetAddressBytes().Length };
            want.AddRange(ip.GetAddressBytes());
            var raw = ext.RawData;
            for (int i = 0; i + want.Count <= raw.Length; i++)
            {
                int k = 0;
                while (k < want.Count && raw[i + k] == want[k]) k++;
                if (k == want.Count) return true;
            }
            return false;
        }

        static string ErrorKind(string message)
        {
            if (message == null) return "other";
            if (message.Contains("log in again")) return "relogin_required";
            if (message.Contains("(5")) return "server";
            if (message.Contains("(4")) return "oauth";
            if (message.Contains("timed out")) return "timeout";
            if (message.Contains("ConnectFailure") || message.Contains("NameResolutionFailure") ||
                message.Contains("TrustFailure") || message.Contains("SecureChannelFailure") ||
                message.Contains("SendFailure") || message.Contains("ReceiveFailure")) return "transport";
            if (message.Contains("JSON") || message.Contains("Json") || message.Contains("XML")) return "parse";
            return "other";
        }

        static string ErrorReply(string message)
        {
            return "{\"seq\":" + CurrentSeq + ",\"error\":{\"kind\":" + Json.Str(ErrorKind(message)) +
                   ",\"message\":" + Json.Str(message) + "}}";
        }

        static string Describe(Exception e)
        {
            if (e is LoginRequiredException) return e.Message + " (log in again)";
            return e.Message;
        }

        // One button click; a message box shown during it is the command's error.
        static string Click(Action click)
        {
            MessageBox.Last = null;
            try { click(); }
            catch (Exception e) { return ErrorReply(Describe(e)); }
            return MessageBox.Last == null ? null : ErrorReply(MessageBox.Last);
        }

        static string CallApi(string path, int concurrency)
        {
            var errors = new string[concurrency];
            var threads = new Thread[concurrency];
            for (int i = 0; i < concurrency; i++)
            {
                int n = i;
                threads[i] = new Thread(() =>
                {
                    try { form.GetProductJson(path); }
                    catch (Exception e) { errors[n] = Describe(e); }
                });
                threads[i].Start();
            }
            foreach (var t in threads) t.Join();
            foreach (var e in errors) if (e != null) return ErrorReply(e); // the first failure is the reply
            return null;
        }

        static string Version()
        {
            var runtime = Type.GetType("Mono.Runtime");
            var display = runtime == null ? null : runtime.GetMethod("GetDisplayName",
                System.Reflection.BindingFlags.NonPublic | System.Reflection.BindingFlags.Static);
            var name = display == null ? "unknown" : (string)display.Invoke(null, null);
            return "mono " + name.Split(' ')[0];
        }

        public static int Main(string[] args)
        {
            fix = Array.IndexOf(args, "--fix") >= 0;
            // The sample never closes an HttpWebResponse. .NET Framework hands the connection back
            // once the body has been read (ConnectStream.ReadWithoutValidation calls CallDone);
            // Mono 6.8 keeps it busy until the response is closed, so with the default of two
            // connections per host the third request would wait forever. Without a limit each
            // request opens its own connection and the sample's token handling is graded as it
            // behaves on .NET, not this Mono difference.
            ServicePointManager.DefaultConnectionLimit = int.MaxValue;
            var serializer = new DataContractJsonSerializer(typeof(Message));
            Config cfg = null;
            string line;
            while ((line = Console.In.ReadLine()) != null)
            {
                if (line.Trim().Length == 0) continue;
                Message m;
                using (var s = new MemoryStream(Encoding.UTF8.GetBytes(line)))
                    m = (Message)serializer.ReadObject(s);
                CurrentSeq = m.Seq.HasValue ? m.Seq.Value.ToString() : "null";
                if (m.Cmd == "stop") break;
                if (m.Cmd == "start")
                {
                    cfg = m.Config;
                    stateDir = cfg.StateDir;
                    if (cfg.ClientAuth == "basic")
                    {
                        Emit("{\"skipped\":{\"reason\":\"2BA's sample sends the client credentials in the form body only\"}}");
                        continue;
                    }
                    if (!string.IsNullOrEmpty(cfg.CaFile)) TrustCaFile(cfg.CaFile);
                    const string tokenPath = "/OAuth/Token";
                    GlobalVariables.AuthorizeServer = cfg.TokenUrl.EndsWith(tokenPath)
                        ? cfg.TokenUrl.Substring(0, cfg.TokenUrl.Length - tokenPath.Length) : cfg.TokenUrl;
                    int version = m.Version >= 2 ? 2 : 1;
                    GlobalVariables.ResourceServer = version == 2 ? cfg.ProductApiBase : cfg.ApiBase;
                    form = NewForm();
                    form.SetCredentials(null, null, cfg.ClientId, cfg.ClientSecret, cfg.Scope);
                    Emit("{\"ready\":true,\"version\":" + version + ",\"implementation\":{\"name\":" +
                         Json.Str(fix ? "2BA C# sample, fixed" : "2BA C# sample") + ",\"version\":" + Json.Str(Version()) +
                         ",\"language\":\"c#\",\"homepage\":\"https://github.com/2BABV/developer-docs/tree/main/docs/oauth2\"}}");
                    continue;
                }
                string error = null;
                switch (m.Cmd)
                {
                    case "login_password":
                        form.SetCredentials(m.Username, m.Password, cfg.ClientId, cfg.ClientSecret, cfg.Scope);
                        error = Click(() => form.BtnLoginClick(null, EventArgs.Empty));
                        break;
                    case "login_code":
                        GlobalVariables.RedirectUri = form.WebBrowser1.Listen();
                        error = Click(() => form.BtnAuthorizeClick(null, EventArgs.Empty));
                        if (error == null && form.DialogResult != DialogResult.OK)
                            error = "{\"seq\":" + CurrentSeq + ",\"error\":{\"kind\":\"timeout\",\"message\":\"the login dialog was not completed\"}}";
                        break;
                    case "refresh":
                        error = Click(() => form.BtnRefreshAccesTokenClick(null, EventArgs.Empty));
                        break;
                    case "call_api":
                        error = CallApi(m.Path, Math.Max(1, m.Concurrency));
                        break;
                    case "advance_time":
                        form.AdvanceTime(m.Seconds);
                        break;
                    case "info":
                        break;
                    case "restart":
                        // A new process: a new form, with what the application saved in its settings.
                        form = NewForm();
                        form.SetCredentials(null, null, cfg.ClientId, cfg.ClientSecret, cfg.Scope);
                        break;
                    default:
                        Emit("{\"seq\":" + CurrentSeq + ",\"skipped\":{\"reason\":" + Json.Str(m.Cmd + " not supported") + "}}");
                        continue;
                }
                Emit(error ?? "{\"seq\":" + CurrentSeq + ",\"ok\":true}");
            }
            return 0;
        }
    }
}
