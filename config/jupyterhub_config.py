# jupyterhub_config.py for the whole system: Moodle (mod_lticontainer) → LTI 1.1 launch → JupyterHub behind
# ltictr-proxy on port 443 → one container per student, planned and run by ltictr-proxy's spawner endpoint.
#
#   browser ──https:443──► ltictr-proxy ──► JupyterHub (127.0.0.1:8081)          routes: REST API 127.0.0.1:8001
#                               │   └─────► single-user containers (127.0.0.1:<published port>)
#                               ├─ records of every cell ──► Moodle (mod_lticontainer_write_nblogs)
#                               └─ /api/spawner ──► Docker or Podman Engine API (UNIX socket)
#
# ltictr-proxy is a drop-in replacement for configurable-http-proxy (CHP): JupyterHub talks to it through its
# ConfigurableHTTPProxy class, unchanged. Here the proxy runs on its own (systemd/ltictr-proxy.service), as the C
# ltictr_proxy did; the alternative where JupyterHub starts the proxy is at the end of this file.
#
# The proxy, started by systemd (flags or their keys in /etc/ltictr-proxy/ltictr-proxy.json):
#
#   CONFIGPROXY_AUTH_TOKEN=<token> ltictr-proxy --port 443 --ssl-cert fullchain.pem --ssl-key privkey.pem \
#       --api-ip 127.0.0.1 --api-port 8001 --default-target http://127.0.0.1:8081 \
#       --error-target http://127.0.0.1:8081/hub/error --moodle-allow https://moodle.example.org \
#       --engine-socket /run/podman/podman.sock --spawner-policy /etc/ltictr-proxy/spawner-policy.json
#
# --engine-socket turns the spawner endpoint on (Docker: /var/run/docker.sock; rootful Podman: the socket of
# `systemctl enable --now podman.socket`); the policy (config/spawner-policy.example.json) bounds what a launch
# may choose: images, CPU, memory, and where homes live. The proxy then needs access to that socket and, to
# create missing homes, root or CAP_CHOWN with write access to the homes' folder (README: "Spawner: running it").

import os
import sys

c = get_config()  # noqa: F821 -- provided by JupyterHub when it loads this file

# --- The proxy --------------------------------------------------------------------------------------------
# The shared secret of the proxy's REST API (`Authorization: token ...`), for /api/routes and /api/spawner
# alike: the same value as the proxy's CONFIGPROXY_AUTH_TOKEN. Keep it out of this file and out of the logs.
proxy_api_token = os.environ["CONFIGPROXY_AUTH_TOKEN"]

c.ConfigurableHTTPProxy.should_start = False
c.ConfigurableHTTPProxy.api_url = "http://127.0.0.1:8001"
c.ConfigurableHTTPProxy.auth_token = proxy_api_token
# The public URL users see (it also sets base_url); the proxy binds what its own flags say.
c.JupyterHub.bind_url = "https://jupyterhub.example.org/"
# The hub must not try to stop a proxy it did not start. Hub restarts leave the proxy and users' connections
# alone; after a proxy restart JupyterHub re-adds its routes on its next check (last_activity_interval) or at
# once on `POST /hub/api/proxy`.
c.JupyterHub.cleanup_proxy = False
# The proxy's last_activity of /user/<name> routes feeds JupyterHub's idle culling (read every
# last_activity_interval seconds), so idle-culler sees traffic that only went through the proxy.
c.JupyterHub.last_activity_interval = 300

# Where the Hub listens itself: the target of the proxy's `/` route. The single-user containers call the Hub's
# API too; how they reach it depends on the container network chosen in the spawner policy:
#  - Podman with "networkMode": "slirp4netns:allow_host_loopback=true" and "hubHostAlias": "10.0.2.2": the
#    Hub stays on 127.0.0.1 (10.0.2.2 in the container is the host's 127.0.0.1);
#  - Docker's "bridge": let the Hub listen on the bridge's address as well, e.g. "http://172.17.0.1:8081"
#    (the proxy reaches it there too), and leave hubHostAlias null.
c.JupyterHub.hub_bind_url = "http://127.0.0.1:8081"

# --- LTI 1.1 login from Moodle (package jupyterhub-ltiauthenticator) --------------------------------------
# mod_lticontainer's activity posts an LTI 1.1 launch to https://jupyterhub.example.org/hub/lti/launch. The
# authenticator checks its OAuth signature and keeps every launch parameter but oauth_* in auth_state, which
# the spawner hands to the proxy: the container plan is made from them (course, volumes, limits, image, role).
c.JupyterHub.authenticator_class = "ltiauthenticator.LTIAuthenticator"
c.LTI11Authenticator.consumers = {
    os.environ["LTI_CONSUMER_KEY"]: os.environ["LTI_SHARED_SECRET"],
}
# The JupyterHub user name is the Moodle user name: the name the kernel reports in the records sent to Moodle,
# and the container's user name.
c.LTI11Authenticator.username_key = "ext_user_username"
# auth_state is stored encrypted: JupyterHub needs JUPYTERHUB_CRYPT_KEY (`openssl rand -hex 32`) in its
# environment, or it refuses to start with enable_auth_state.
c.Authenticator.enable_auth_state = True
# A student's "logout" ends the container too.
c.JupyterHub.shutdown_on_logout = True

# Moodle shows JupyterHub inside an iframe after the launch (a cross-site POST): the browser only sends
# JupyterHub's cookies in that frame when they are SameSite=None; Secure, and the pages must allow being framed
# by the Moodle site.
c.JupyterHub.tornado_settings = {
    # Also given to single-user servers (JUPYTERHUB_COOKIE_OPTIONS) for their login cookies.
    "cookie_options": {"SameSite": "None", "Secure": True},
    "headers": {"Content-Security-Policy": "frame-ancestors 'self' https://moodle.example.org"},
}

# --- The spawner: containers planned and run by ltictr-proxy ----------------------------------------------
# ltictr_spawner.py ships in the package's jupyterhub/ folder (npm: $(npm root -g)/ltictr-proxy/jupyterhub).
sys.path.insert(0, "/usr/local/lib/node_modules/ltictr-proxy/jupyterhub")
c.JupyterHub.spawner_class = "ltictr_spawner.LtictrSpawner"
# It calls <ConfigurableHTTPProxy.api_url>/api/spawner with ConfigurableHTTPProxy.auth_token; set these only
# when the spawner endpoint is elsewhere:
# c.LtictrSpawner.proxy_api_url = "http://127.0.0.1:8001"
# c.LtictrSpawner.proxy_api_token = proxy_api_token
#
# The container's command: None = the policy's `command` (start-notebook.sh of the LTIContainer images). The
# policy appends the notebook server's arguments (start page, hidden files, the notice extension's settings).
c.LtictrSpawner.cmd = None
# Timeouts. start(): the proxy creates the user's folders and the container and starts it (a first start of a
# large image on a busy host takes a while); then the notebook server must answer within http_timeout.
c.Spawner.start_timeout = 120
c.Spawner.http_timeout = 120
# Poll and stop requests to the proxy; a stopping container gets stop_timeout seconds before SIGKILL.
c.LtictrSpawner.request_timeout = 30
c.LtictrSpawner.stop_timeout = 10
# How often JupyterHub asks whether each container still runs (a container that ended drops its route).
c.Spawner.poll_interval = 30
# CPU, memory, the image, the start page and the activity limit come from the launch (mod_lticontainer's
# settings), bounded by the spawner policy: JupyterHub's own mem_limit / cpu_limit / default_url settings are
# not used for the containers.

# Stop single-user containers when the hub stops (set False to keep them running across hub restarts: the
# spawner keeps each container's id in JupyterHub's database and finds it again).
c.JupyterHub.cleanup_servers = True

# --- Alternative: JupyterHub starts the proxy -------------------------------------------------------------
# Instead of the systemd service, JupyterHub can run the proxy as it runs CHP, appending --ip/--port (from
# bind_url), --api-ip/--api-port (from api_url), --error-target, --log-level and --ssl-key/--ssl-cert (from
# c.JupyterHub.ssl_key/ssl_cert), passing the token in CONFIGPROXY_AUTH_TOKEN, restarting it when it dies
# and stopping it with the hub:
#
# c.ConfigurableHTTPProxy.should_start = True
# c.ConfigurableHTTPProxy.command = [
#     "ltictr-proxy",  # or ["node", "/opt/ltictr-proxy/bin/ltictr-proxy.js"]
#     "--data-dir", "/var/lib/ltictr-proxy",
#     "--moodle-allow", "https://moodle.example.org",
#     "--engine-socket", "/run/podman/podman.sock",
#     "--spawner-policy", "/etc/ltictr-proxy/spawner-policy.json",
# ]
# c.JupyterHub.bind_url = "https://:443"  # port 443 needs root or CAP_NET_BIND_SERVICE for the proxy
# c.JupyterHub.ssl_cert = "/etc/ssl/private/jupyterhub-fullchain.pem"
# c.JupyterHub.ssl_key = "/etc/ssl/private/jupyterhub-privkey.pem"
# c.JupyterHub.cleanup_proxy = True
