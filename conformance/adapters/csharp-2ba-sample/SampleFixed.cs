// 2BA's C# sample (Sample.cs) with the fix a partner adds to it, between the 2ba-fix markers: the
// form values escaped, the refresh token kept when a refresh returns none and saved in the user
// settings, the access token refreshed when it has expired (one refresh at a time) and once more
// after a 401, and a 400 from a refresh taken as "log in again". Everything else is the sample.
using System;
using System.IO;
using System.Linq;
using System.Net;
using System.Runtime.Serialization.Json;
using System.Text;
using System.Web;
using System.Xml;
using System.Xml.Linq;
using System.Xml.XPath;

namespace TwoBA.SampleFixed
{
    public class LoginForm : Form
    {
        // The form's text boxes (the designer's fields in the sample).
        public TextBox txtUsername = new TextBox(), txtPassword = new TextBox();
        public TextBox txtClientId = new TextBox(), txtClientSecret = new TextBox();
        public TextBox txtAccessToken = new TextBox(), txtRefreshToken = new TextBox(), txtExpiresIn = new TextBox();
        public TextBox txtScope = new TextBox(); // not in the sample: 2BA's sample web app sends a scope
        public string Authorization_Code;

        public LoginForm()
        {
            this.WebBrowser1.Navigated += this.WebBrowser1_Navigated; // the designer's wiring
            // 2ba-fix:begin
            txtRefreshToken.Text = Properties.Settings.Default.RefreshToken; // saved by StoreTokens
            // 2ba-fix:end
        }

        // 2ba-fix:begin
        private readonly object tokenLock = new object();
        private DateTime accessTokenExpires = DateTime.MinValue; // no access token yet

        // A form field with its value escaped: + & = % and non-ASCII characters arrive intact.
        private static string Field(string name, string value)
        {
            return "&" + name + "=" + Uri.EscapeDataString(value ?? "");
        }

        // Keeps a token response: the refresh token only when a new one came, when the access token
        // expires (a little early), and the refresh token in the user settings.
        private void StoreTokens(XElement root)
        {
            var accessToken = root.XPathSelectElement("//access_token");
            var refreshToken = root.XPathSelectElement("//refresh_token");
            var expiresIn = root.XPathSelectElement("//expires_in");
            txtAccessToken.Text = accessToken.Value;
            if (refreshToken != null) txtRefreshToken.Text = refreshToken.Value;
            txtExpiresIn.Text = (expiresIn == null) ? null : expiresIn.Value;
            int seconds;
            accessTokenExpires = (expiresIn != null && int.TryParse(expiresIn.Value, out seconds))
                ? DateTime.UtcNow.AddSeconds(seconds - Math.Min(60, seconds / 10))
                : DateTime.MaxValue; // no expires_in: the 401 tells
            Properties.Settings.Default.RefreshToken = txtRefreshToken.Text;
            Properties.Settings.Default.Save();
        }

        // After a 400 from a refresh the refresh token is dead: forget it, the user logs in again.
        private void ForgetTokens()
        {
            txtAccessToken.Text = txtRefreshToken.Text = txtExpiresIn.Text = null;
            Properties.Settings.Default.RefreshToken = null;
            Properties.Settings.Default.Save();
        }

        // Refreshes unless another thread already replaced the access token this one saw.
        private void RefreshOnce(string seenAccessToken)
        {
            lock (tokenLock)
            {
                if (txtAccessToken.Text == seenAccessToken) BtnRefreshAccesTokenClick(this, EventArgs.Empty);
            }
        }

        // The access token to send, refreshed first when it has expired.
        private string CurrentAccessToken()
        {
            var accessToken = txtAccessToken.Text;
            if (accessToken == null || DateTime.UtcNow >= accessTokenExpires) RefreshOnce(accessToken);
            if (txtAccessToken.Text == null) throw new LoginRequiredException("Not logged in to 2BA: please log in again.");
            return txtAccessToken.Text;
        }
        // 2ba-fix:end

        // oauth2-resource-owner-password-credentials-grant.md
        public override void BtnLoginClick(object sender, System.EventArgs e)
        {
            try
            {
                var httpWReq = (HttpWebRequest)WebRequest.Create(GlobalVariables.AuthorizeServer + "/OAuth/Token");
                var encoding = new ASCIIEncoding();
                string postData = "grant_type=password";
                // 2ba-fix:begin
                postData += Field("username", txtUsername.Text);
                postData += Field("password", txtPassword.Text);
                postData += Field("client_id", txtClientId.Text);
                postData += Field("client_secret", txtClientSecret.Text);
                // 2ba-fix:end
                if (!string.IsNullOrEmpty(txtScope.Text)) postData += Field("scope", txtScope.Text); // not in the sample
                byte[] data = encoding.GetBytes(postData);
                httpWReq.Method = "POST";
                httpWReq.ContentType = "application/x-www-form-urlencoded";
                httpWReq.ContentLength = data.Length;
                HttpWebResponse response;
                using (Stream newStream = httpWReq.GetRequestStream())
                {
                    newStream.Write(data, 0, data.Length);
                    response = (HttpWebResponse)httpWReq.GetResponse();
                }
                var mystream = response.GetResponseStream();
                XmlReader reader = JsonReaderWriterFactory.CreateJsonReader(mystream, new XmlDictionaryReaderQuotas());
                var root = XElement.Load(reader);

                // 2ba-fix:begin
                StoreTokens(root);
                // 2ba-fix:end
            }
            catch (Exception ex)
            {
                MessageBox.Show(@"Login failed: " + ex.Message);
            }
        }

        // oauth2-refresh-access-token.md
        public override void BtnRefreshAccesTokenClick(object sender, EventArgs e)
        {
            // 2ba-fix:begin
            lock (tokenLock)
            {
                if (string.IsNullOrEmpty(txtRefreshToken.Text))
                {
                    MessageBox.Show(@"Not logged in to 2BA: please log in again.");
                    return;
                }
            // 2ba-fix:end
            try
            {
                var httpWReq = (HttpWebRequest)WebRequest.Create(GlobalVariables.AuthorizeServer + "/OAuth/Token");
                var encoding = new ASCIIEncoding();
                var postData = "grant_type=refresh_token";
                // 2ba-fix:begin
                postData += Field("refresh_token", txtRefreshToken.Text);
                postData += Field("client_id", txtClientId.Text);
                postData += Field("client_secret", txtClientSecret.Text);
                // 2ba-fix:end
                var data = encoding.GetBytes(postData);
                httpWReq.Method = "POST";
                httpWReq.ContentType = "application/x-www-form-urlencoded";
                httpWReq.ContentLength = data.Length;
                HttpWebResponse response;
                using (Stream newStream = httpWReq.GetRequestStream())
                {
                    newStream.Write(data, 0, data.Length);
                    response = (HttpWebResponse)httpWReq.GetResponse();
                }
                var mystream = response.GetResponseStream();
                XmlReader reader = JsonReaderWriterFactory.CreateJsonReader(mystream, new XmlDictionaryReaderQuotas());
                var root = XElement.Load(reader);

                // 2ba-fix:begin
                StoreTokens(root);
                // 2ba-fix:end
            }
            // 2ba-fix:begin
            catch (WebException ex) when (ex.Response is HttpWebResponse && ((HttpWebResponse)ex.Response).StatusCode == HttpStatusCode.BadRequest)
            {
                ForgetTokens();
                MessageBox.Show(@"Your 2BA session has ended: please log in again.");
            }
            // 2ba-fix:end
            catch (Exception ex)
            {
                MessageBox.Show(@"Refresh AccessToken failed: " + ex.Message);
            }
            // 2ba-fix:begin
            }
            // 2ba-fix:end
        }

        // oauth2-authorization-code.md, step 1. The sample's redirect_uri is the authorization
        // server's own address, seen by an embedded WebBrowser; here the WebBrowser stand-in is a
        // loopback listener (2BA's newer UOBSamples do the same), so redirect_uri is its address.
        public override void BtnAuthorizeClick(object sender, EventArgs e)
        {
            var url = new Uri(string.Format("{0}/OAuth/Authorize?response_type=code&client_id={1}&redirect_uri={2}",
                GlobalVariables.AuthorizeServer,
                // 2ba-fix:begin
                Uri.EscapeDataString(txtClientId.Text),
                Uri.EscapeDataString(GlobalVariables.RedirectUri)));
                // 2ba-fix:end
            this.WebBrowser1.Navigate(url);
            if (this.ShowDialog() == DialogResult.OK)
            {
                GetAccessToken(this.Authorization_Code);
            }
        }

        // Step 3: the redirect's path and query start with SearchCondition (the sample's "/?code="
        // for a redirect_uri without a path).
        private void WebBrowser1_Navigated(object sender, WebBrowserNavigatedEventArgs e)
        {
            // Look for the authorization code field
            string SearchCondition = new Uri(GlobalVariables.RedirectUri).AbsolutePath + "?code=";
            if (e.Url.PathAndQuery.StartsWith(SearchCondition))
            {
                var queryString = string.Join(string.Empty, e.Url.AbsoluteUri.Split('?').Skip(1));
                var parsedQuery = HttpUtility.ParseQueryString(queryString);
                this.Authorization_Code = parsedQuery["code"];
                this.DialogResult = DialogResult.OK;
                this.Close();
            }
        }

        // Step 4. The sample elides the POST ("POST postData to {AuthorizeServer}/OAuth/Token and
        // parse the access_token / refresh_token / expires_in fields"): done as BtnLoginClick does.
        public void GetAccessToken(string authorizationCode)
        {
            try
            {
                var postData = "grant_type=authorization_code";
                // 2ba-fix:begin
                postData += Field("code", authorizationCode);
                postData += Field("redirect_uri", GlobalVariables.RedirectUri);
                postData += Field("client_id", txtClientId.Text);
                postData += Field("client_secret", txtClientSecret.Text);
                // 2ba-fix:end

                var httpWReq = (HttpWebRequest)WebRequest.Create(GlobalVariables.AuthorizeServer + "/OAuth/Token");
                var data = new ASCIIEncoding().GetBytes(postData);
                httpWReq.Method = "POST";
                httpWReq.ContentType = "application/x-www-form-urlencoded";
                httpWReq.ContentLength = data.Length;
                HttpWebResponse response;
                using (Stream newStream = httpWReq.GetRequestStream())
                {
                    newStream.Write(data, 0, data.Length);
                    response = (HttpWebResponse)httpWReq.GetResponse();
                }
                XmlReader reader = JsonReaderWriterFactory.CreateJsonReader(response.GetResponseStream(), new XmlDictionaryReaderQuotas());
                var root = XElement.Load(reader);
                // 2ba-fix:begin
                StoreTokens(root);
                // 2ba-fix:end
            }
            catch (Exception ex)
            {
                MessageBox.Show(@"Login failed: " + ex.Message);
            }
        }

        // wcf-example-json-request.md, with the token from CurrentAccessToken and one refresh and
        // retry after a 401 (the token may have been revoked before its expiry).
        public override string GetProductJson(string path)
        {
            // 2ba-fix:begin
            for (int attempt = 1; ; attempt++)
            {
                var accessToken = CurrentAccessToken();
                try
                {
            // 2ba-fix:end
            var request = (HttpWebRequest)WebRequest.Create(GlobalVariables.ResourceServer + path);
            request.Method = "GET";
            request.Headers.Add("Authorization", "Bearer " + accessToken);
            var response = (HttpWebResponse)request.GetResponse();

            // Use your own preferred JSON parser here.
            XmlReader reader = JsonReaderWriterFactory.CreateJsonReader(response.GetResponseStream(), new XmlDictionaryReaderQuotas());
            var root = XElement.Load(reader);
            return root.Name.LocalName;
            // 2ba-fix:begin
                }
                catch (WebException ex) when (attempt == 1 && ex.Response is HttpWebResponse &&
                                              ((HttpWebResponse)ex.Response).StatusCode == HttpStatusCode.Unauthorized)
                {
                    RefreshOnce(accessToken);
                }
            }
            // 2ba-fix:end
        }

        // The client's clock: the expiry the fix keeps moves earlier instead.
        public override void AdvanceTime(int seconds)
        {
            if (accessTokenExpires != DateTime.MaxValue && accessTokenExpires != DateTime.MinValue)
                accessTokenExpires = accessTokenExpires.AddSeconds(-seconds);
        }

        public override void SetCredentials(string username, string password, string clientId, string clientSecret, string scope)
        {
            txtUsername.Text = username;
            txtPassword.Text = password;
            txtClientId.Text = clientId;
            txtClientSecret.Text = clientSecret;
            txtScope.Text = scope;
        }
    }
}
