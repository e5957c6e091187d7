# jupyterhub_config.py snippet: JupyterHub behind ltictr-proxy (with Moodle's mod_lticontainer).
#
# ltictr-proxy is a drop-in replacement for configurable-http-proxy (CHP): JupyterHub talks to it through
# its ConfigurableHTTPProxy class, unchanged. Copy the parts you need into your jupyterhub_config.py.
# Two ways to run it; choose one with LTICTR_PROXY_EXTERNAL below:
#
#   A. JupyterHub starts the proxy (LTICTR_PROXY_EXTERNAL = False).
#      JupyterHub runs c.ConfigurableHTTPProxy.command and appends CHP's flags itself:
#        --ip/--port (from bind_url), --api-ip/--api-port (from api_url), --error-target <hub>/hub/error,
#        --log-level, and --ssl-key/--ssl-cert (from c.JupyterHub.ssl_key/ssl_cert).
#      It passes the API token in the CONFIGPROXY_AUTH_TOKEN environment variable, restarts the proxy
#      when it dies (checked every 5 s) and stops it (SIGTERM) when the hub stops.
#
#   B. The proxy runs on its own (LTICTR_PROXY_EXTERNAL = True), e.g. from systemd/ltictr-proxy.service:
#        CONFIGPROXY_AUTH_TOKEN=<token> ltictr-proxy --ip '' --port 443 --ssl-key ... --ssl-cert ... \
#            --api-ip 127.0.0.1 --api-port 8001 --error-target http://127.0.0.1:8081/hub/error ...
#      JupyterHub only uses its REST API (same token on both sides). Hub restarts leave the proxy and
#      users' connections alone; after a proxy restart JupyterHub re-adds its routes on its next
#      check (c.JupyterHub.last_activity_interval, 300 s) or at once on `POST /hub/api/proxy`.
#      This is how the C ltictr_proxy was used (proxy_should_start = False in lticontainerspawner_config.py).

import os

c = get_config()  # noqa: F821 -- provided by JupyterHub when it loads this file

LTICTR_PROXY_EXTERNAL = False

# Shared secret for the proxy's REST API (`Authorization: token ...`). Keep it out of this file and out of
# the logs; in mode B it must equal the CONFIGPROXY_AUTH_TOKEN the proxy was started with.
proxy_api_token = os.environ["CONFIGPROXY_AUTH_TOKEN"]

# Where the Hub listens itself: the target of the proxy's `/` route (JupyterHub registers it with
# {"hub": true}). Use an address the single-user containers can reach, too.
c.JupyterHub.hub_bind_url = "http://127.0.0.1:8081"

# The proxy's REST API. JupyterHub calls GET/POST/DELETE <api_url>/api/routes[/<path>].
c.ConfigurableHTTPProxy.api_url = "http://127.0.0.1:8001"
c.ConfigurableHTTPProxy.auth_token = proxy_api_token

if not LTICTR_PROXY_EXTERNAL:
    # --- Mode A: JupyterHub starts ltictr-proxy ---------------------------------------------------------
    c.ConfigurableHTTPProxy.should_start = True
    c.ConfigurableHTTPProxy.command = [
        "ltictr-proxy",  # or ["node", "/opt/ltictr-proxy/bin/ltictr-proxy.js"]
        # State: delivery spool, generated secrets and certificates.
        "--data-dir", "/var/lib/ltictr-proxy",
        # Moodle origins the proxy may report to; the Moodle URL and token of each student come from
        # the LTI launch (mod_lticontainer's custom_lms_serverurl / custom_lms_serverpath /
        # custom_lms_rpctoken). Repeat the flag for several Moodle sites.
        "--moodle-allow", "https://moodle.example.org",
        # Optional: a fixed Moodle and web-service token instead of (or as fallback for) the launch's.
        # "--moodle-url", "https://moodle.example.org/moodle",
        # "--moodle-token-file", "/etc/ltictr-proxy/moodle-token",
        # Optional: keep a local JSON-lines copy of every captured record.
        # "--records-file", "/var/log/ltictr-proxy/records.jsonl",
        # Optional: Prometheus metrics (CHP's names + ltictr_*).
        # "--metrics-ip", "127.0.0.1", "--metrics-port", "8002",
    ]
    # Public address of the proxy; JupyterHub turns it into --ip/--port (port 443 needs root or
    # CAP_NET_BIND_SERVICE for the proxy process).
    c.JupyterHub.bind_url = "https://:443"
    # Certificate for the public port, handed to the proxy as --ssl-cert/--ssl-key.
    c.JupyterHub.ssl_cert = "/etc/ssl/private/jupyterhub-fullchain.pem"
    c.JupyterHub.ssl_key = "/etc/ssl/private/jupyterhub-privkey.pem"
    c.JupyterHub.cleanup_proxy = True  # stop the proxy with the hub
else:
    # --- Mode B: ltictr-proxy runs on its own -----------------------------------------------------------
    c.ConfigurableHTTPProxy.should_start = False
    # The public URL users see (it also sets base_url); the proxy binds what its own flags say.
    c.JupyterHub.bind_url = "https://jupyterhub.example.org/"
    # The hub must not try to stop a proxy it did not start.
    c.JupyterHub.cleanup_proxy = False

# Stop single-user servers when the hub stops (set False to keep them running across hub restarts).
c.JupyterHub.cleanup_servers = True

# --- Settings mod_lticontainer needs --------------------------------------------------------------------
# Moodle shows JupyterHub inside an iframe after an LTI 1.1 launch (a cross-site POST to /hub/lti/launch):
# the browser only sends JupyterHub's cookies in that frame when they are SameSite=None; Secure, and
# the pages must allow being framed by the Moodle site.
c.JupyterHub.tornado_settings = {
    # Also given to single-user servers (JUPYTERHUB_COOKIE_OPTIONS) for their login cookies.
    "cookie_options": {"SameSite": "None", "Secure": True},
    "headers": {"Content-Security-Policy": "frame-ancestors 'self' https://moodle.example.org"},
}
# LTI 1.1 login (package `jupyterhub-ltiauthenticator`); the JupyterHub user name is the Moodle user name,
# which is also the name the kernel reports in execute_reply and thus in the records sent to Moodle.
# c.JupyterHub.authenticator_class = "ltiauthenticator.LTIAuthenticator"
# c.LTI11Authenticator.consumers = {"<consumer key>": "<shared secret>"}
# c.LTI11Authenticator.username_key = "ext_user_username"
# A student's "logout" ends the container too.
c.JupyterHub.shutdown_on_logout = True
# The proxy's last_activity of /user/<name> routes feeds JupyterHub's idle culling (read every
# last_activity_interval seconds), so idle-culler sees traffic that only went through the proxy.
c.JupyterHub.last_activity_interval = 300
