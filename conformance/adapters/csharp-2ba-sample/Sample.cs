// The token handling of 2BA's published C# samples, as a .NET partner copies it into a WinForms
// application. Reproduced from 2BA's developer documentation (github.com/2BABV/developer-docs @020abb2):
//   docs/oauth2/oauth2-resource-owner-password-credentials-grant.md   BtnLoginClick
//   docs/oauth2/oauth2-refresh-access-token.md                        BtnRefreshAccesTokenClick
//   docs/oauth2/oauth2-authorization-code.md                          the authorize URL, WebBrowser1_Navigated, GetAccessToken
//   docs/api/wcf-example-json-request.md                              GetProductJson
// Kept as the samples have it, flaws included: the form body is concatenated without escaping and
// encoded as ASCII; the token response is read with JsonReaderWriterFactory and XPath into the
// form's text boxes; expires_in is kept as text and never compared with a clock, so nothing
// refreshes on its own (the user presses the refresh button); a refresh reply without
// refresh_token empties the refresh-token box; a failed refresh leaves the old tokens in place and
// only shows a message; the authorization-code flow sends no state and no PKCE; there is no lock.
// What the samples leave open is filled in the most literal way and marked "not in the sample".
// This file is graded; the protocol around it is in Adapter.cs, the fixed copy in SampleFixed.cs.
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

namespace TwoBA.Sample
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
        }

        // oauth2-resource-owner-password-credentials-grant.md
        public override void BtnLoginClick(object sender, System.EventArgs e)
        {
            try
            {
                var httpWReq = (HttpWebRequest)WebRequest.Create(GlobalVariables.AuthorizeServer + "/OAuth/Token");
                var encoding = new ASCIIEncoding();
                string postData = "grant_type=password";
                postData += "&username=" + txtUsername.Text;
                postData += "&password=" + txtPassword.Text;
                postData += "&client_id=" + txtClientId.Text;
                postData += "&client_secret=" + txtClientSecret.Text;
                if (!string.IsNullOrEmpty(txtScope.Text)) postData += "&scope=" + txtScope.Text; // not in the sample
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

                // The fields we'd like to extract
                var accessToken = root.XPathSelectElement("//access_token");
                var refreshToken = root.XPathSelectElement("//refresh_token");
                var expiresIn = root.XPathSelectElement("//expires_in");

                txtAccessToken.Text = (accessToken == null) ? null : accessToken.Value;
                txtRefreshToken.Text = (refreshToken == null) ? null : refreshToken.Value;
                txtExpiresIn.Text = (expiresIn == null) ? null : expiresIn.Value;
            }
            catch (Exception ex)
            {
                MessageBox.Show(@"Login failed: " + ex.Message);
            }
        }

        // oauth2-refresh-access-token.md
        public override void BtnRefreshAccesTokenClick(object sender, EventArgs e)
        {
            try
            {
                var httpWReq = (HttpWebRequest)WebRequest.Create(GlobalVariables.AuthorizeServer + "/OAuth/Token");
                var encoding = new ASCIIEncoding();
                var postData = "grant_type=refresh_token";
                postData += "&refresh_token=" + txtRefreshToken.Text;
                postData += "&client_id=" + txtClientId.Text;
                postData += "&client_secret=" + txtClientSecret.Text;
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

                // The fields we'd like to extract
                var accessToken = root.XPathSelectElement("//access_token");
                var refreshToken = root.XPathSelectElement("//refresh_token");
                var expiresIn = root.XPathSelectElement("//expires_in");

                txtAccessToken.Text = (accessToken == null) ? null : accessToken.Value;
                txtRefreshToken.Text = (refreshToken == null) ? null : refreshToken.Value;
                txtExpiresIn.Text = (expiresIn == null) ? null : expiresIn.Value;
            }
            catch (Exception ex)
            {
                MessageBox.Show(@"Refresh AccessToken failed: " + ex.Message);
            }
        }

        // oauth2-authorization-code.md, step 1. The sample's redirect_uri is the authorization
        // server's own address, seen by an embedded WebBrowser; here the WebBrowser stand-in is a
        // loopback listener (2BA's newer UOBSamples do the same), so redirect_uri is its address.
        public override void BtnAuthorizeClick(object sender, EventArgs e)
        {
            var url = new Uri(string.Format("{0}/OAuth/Authorize?response_type=code&client_id={1}&redirect_uri={2}",
                GlobalVariables.AuthorizeServer,
                txtClientId.Text,
                GlobalVariables.RedirectUri));
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
                postData += "&code=" + authorizationCode;
                postData += "&redirect_uri=" + GlobalVariables.RedirectUri;
                postData += "&client_id=" + txtClientId.Text;
                postData += "&client_secret=" + txtClientSecret.Text;

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
                var accessToken = root.XPathSelectElement("//access_token");
                var refreshToken = root.XPathSelectElement("//refresh_token");
                var expiresIn = root.XPathSelectElement("//expires_in");
                txtAccessToken.Text = (accessToken == null) ? null : accessToken.Value;
                txtRefreshToken.Text = (refreshToken == null) ? null : refreshToken.Value;
                txtExpiresIn.Text = (expiresIn == null) ? null : expiresIn.Value;
            }
            catch (Exception ex)
            {
                MessageBox.Show(@"Login failed: " + ex.Message);
            }
        }

        // wcf-example-json-request.md: "Continuously: only retrieve a new access token when it has
        // expired", but the sample itself calls with the token it has and lets the WebException
        // (401 included) reach the caller.
        public override string GetProductJson(string path)
        {
            var request = (HttpWebRequest)WebRequest.Create(GlobalVariables.ResourceServer + path);
            request.Method = "GET";
            request.Headers.Add("Authorization", "Bearer " + txtAccessToken.Text);
            var response = (HttpWebResponse)request.GetResponse();

            // Use your own preferred JSON parser here.
            XmlReader reader = JsonReaderWriterFactory.CreateJsonReader(response.GetResponseStream(), new XmlDictionaryReaderQuotas());
            var root = XElement.Load(reader);
            return root.Name.LocalName;
        }

        // The sample keeps no expiry time (txtExpiresIn holds expires_in as text): nothing to move.
        public override void AdvanceTime(int seconds) { }

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
