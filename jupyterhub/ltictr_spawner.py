"""JupyterHub spawner that hands container start, poll and stop to ltictr-proxy.

ltictr-proxy's spawner endpoint (on its REST API port, next to CHP's /api/routes, with the same token)
makes the container plan from the LTI launch and the operator's spawner policy, creates and starts the
container on Docker or Podman with the notebook port published on 127.0.0.1, and answers with that address,
which JupyterHub then registers as the user's route. This class only carries the request: it holds no
container logic of its own.

Use it from jupyterhub_config.py (see config/jupyterhub_config.py in ltictr-proxy)::

    import sys
    sys.path.insert(0, "/usr/local/lib/node_modules/ltictr-proxy/jupyterhub")
    c.JupyterHub.spawner_class = "ltictr_spawner.LtictrSpawner"
    c.Authenticator.enable_auth_state = True   # the LTI launch parameters live in auth_state

Only the standard library, JupyterHub, traitlets and tornado are used (what JupyterHub itself needs).
"""

import json

from jupyterhub.spawner import Spawner
from jupyterhub.traitlets import Command
from tornado.httpclient import AsyncHTTPClient, HTTPClientError, HTTPRequest
from traitlets import Dict, Integer, Unicode, default

__all__ = ["LtictrSpawner", "LtictrSpawnerError"]


class LtictrSpawnerError(Exception):
    """A start, poll or stop that ltictr-proxy refused or could not do.

    The message is what JupyterHub shows the user ("Spawn failed: ..."): the proxy's own one-line reason,
    e.g. which launch parameter it refused. ``code`` is the proxy's stable error code, ``field`` the
    parameter at fault when there is one, ``status`` the HTTP status (None when the proxy was unreachable).
    """

    def __init__(self, message, status=None, code=None, field=None):
        super().__init__(message)
        self.jupyterhub_message = message
        self.status = status
        self.code = code
        self.field = field


class LtictrSpawner(Spawner):
    """Single-user servers in containers planned and run by ltictr-proxy (the LTIContainerSpawner's job)."""

    proxy_api_url = Unicode(
        help="""ltictr-proxy's REST API, e.g. http://127.0.0.1:8001.

        Default: c.ConfigurableHTTPProxy.api_url, the proxy JupyterHub already talks to. The spawner
        endpoint is <proxy_api_url>/api/spawner/{start,poll,stop}; the proxy must run with
        --engine-socket. Keep it on the loopback address: requests carry the server's API token.
        """,
    ).tag(config=True)

    proxy_api_token = Unicode(
        help="""The token of ltictr-proxy's REST API (its CONFIGPROXY_AUTH_TOKEN).

        Default: c.ConfigurableHTTPProxy.auth_token.
        """,
    ).tag(config=True)

    cmd = Command(
        None,
        allow_none=True,
        minlen=0,
        help="""The container's command, before the notebook server's arguments.

        Default None: the spawner policy's command (its `command` key, "start-notebook.sh" unless the
        operator changed it), as the single-user images expect.
        """,
    ).tag(config=True)

    stop_timeout = Integer(
        10,
        help="""Seconds a stopping container gets between SIGTERM and SIGKILL (0 when JupyterHub asks for
        an immediate stop).""",
    ).tag(config=True)

    request_timeout = Integer(
        30,
        help="""Seconds a poll or stop request to the proxy may take, on top of stop_timeout for a stop.

        A start may take up to Spawner.start_timeout (JupyterHub's own limit for start(); 60 s by default):
        the proxy creates the user's folders, the container and its volumes and starts it. After that,
        Spawner.http_timeout bounds the wait for the notebook server to answer.""",
    ).tag(config=True)

    # The running server's container, kept in JupyterHub's database (get_state / load_state).
    container_id = Unicode("")
    container_name = Unicode("")

    # The LTI launch, from the authenticator's auth_state, set before every start.
    launch_parameters = Dict()

    @default("env_keep")
    def _default_env_keep(self):
        # The Hub's own PATH, LANG, ... mean nothing in a container: the image sets them.
        return []

    @default("proxy_api_url")
    def _default_proxy_api_url(self):
        proxy = self._hub_proxy()
        return proxy.api_url if proxy is not None else ""

    @default("proxy_api_token")
    def _default_proxy_api_token(self):
        proxy = self._hub_proxy()
        return proxy.auth_token if proxy is not None else ""

    def _hub_proxy(self):
        user = self.user
        settings = getattr(user, "settings", None) or {}
        return settings.get("proxy")

    async def run_auth_state_hook(self, auth_state):
        """Keeps the launch parameters the LTI authenticator stored in auth_state (every form field but
        oauth_*), in their order. JupyterHub runs this before every start."""
        self.launch_parameters = self._launch_from(auth_state or {})
        await super().run_auth_state_hook(auth_state)

    def _launch_from(self, auth_state):
        launch = {}
        for name, value in auth_state.items():
            if isinstance(value, str):
                launch[name] = value
            elif isinstance(value, (int, float)) and not isinstance(value, bool):
                launch[name] = str(value)
            else:
                self.log.warning(
                    "auth_state[%r] of %s is not a launch parameter (not a string): left out",
                    name,
                    self._log_name,
                )
        return launch

    def load_state(self, state):
        super().load_state(state)
        self.container_id = state.get("container_id", "")
        self.container_name = state.get("container_name", "")

    def get_state(self):
        state = super().get_state()
        if self.container_id:
            state["container_id"] = self.container_id
            state["container_name"] = self.container_name
        return state

    def clear_state(self):
        super().clear_state()
        self.container_id = ""
        self.container_name = ""

    async def start(self):
        """Asks the proxy to plan, create and start the container; returns (ip, port) of its published
        notebook port."""
        body = {
            "user": self.user.name,
            "server": self.name,
            "launch": self.launch_parameters,
            "environment": self.get_env(),
            "command": list(self.cmd) if self.cmd else None,
            "args": list(self.get_args()),
        }
        self.log.info("Asking ltictr-proxy to start the container of %s", self._log_name)
        answer = await self._call("start", body, self.start_timeout)
        self.container_id = answer["id"]
        self.container_name = answer["name"]
        self.log.info(
            "Container %s of %s runs, notebook at %s:%s",
            self.container_name,
            self._log_name,
            answer["ip"],
            answer["port"],
        )
        return (answer["ip"], int(answer["port"]))

    async def poll(self):
        """None while the container runs; its exit code (0 when unknown) once it is gone or stopped.

        A container id the proxy refuses (not a container id, or not this server's container) counts as
        stopped. While the proxy or the container engine cannot answer, the server counts as running:
        JupyterHub would otherwise drop the route and forget the container of a server that may be fine.
        """
        if not self.container_id:
            return 0
        try:
            answer = await self._call("poll", self._container_body(), self.request_timeout)
        except LtictrSpawnerError as error:
            if error.status in (400, 409):
                self.log.error("Container of %s counted as stopped: %s", self._log_name, error)
                return 0
            self.log.warning("Cannot poll the container of %s: %s", self._log_name, error)
            return None
        if answer.get("running"):
            return None
        return int(answer.get("exitCode", 0))

    async def stop(self, now=False):
        """Stops and removes the container; the course's named volumes stay."""
        if not self.container_id:
            return
        timeout = 0 if now else self.stop_timeout
        body = dict(self._container_body(), timeoutSeconds=timeout)
        await self._call("stop", body, timeout + self.request_timeout)
        self.log.info("Container %s of %s removed", self.container_name, self._log_name)

    def _container_body(self):
        return {"user": self.user.name, "server": self.name, "id": self.container_id}

    async def _call(self, operation, body, timeout):
        if not self.proxy_api_url:
            raise LtictrSpawnerError(
                "LtictrSpawner.proxy_api_url is not set (nor c.ConfigurableHTTPProxy.api_url)"
            )
        url = f"{self.proxy_api_url.rstrip('/')}/api/spawner/{operation}"
        request = HTTPRequest(
            url,
            method="POST",
            headers={
                "Authorization": f"token {self.proxy_api_token}",
                "Content-Type": "application/json",
            },
            body=json.dumps(body),
            connect_timeout=min(timeout, 10),
            request_timeout=timeout,
        )
        try:
            response = await AsyncHTTPClient().fetch(request, raise_error=False)
        except HTTPClientError as error:
            # tornado raises for answers it could not read (599: timeout, connection refused)
            raise LtictrSpawnerError(f"cannot reach ltictr-proxy at {url}: {error}") from None
        except OSError as error:
            raise LtictrSpawnerError(f"cannot reach ltictr-proxy at {url}: {error}") from None
        answer = self._json(response)
        if response.code >= 400:
            message = answer.get("message") or f"HTTP {response.code}"
            if response.code == 404 and answer.get("error") != "SPAWNER_DISABLED":
                message = f"{message} (is {url} ltictr-proxy's API, started with --engine-socket?)"
            raise LtictrSpawnerError(
                f"ltictr-proxy could not {operation} the server: {message}",
                status=response.code,
                code=answer.get("error"),
                field=answer.get("field"),
            )
        return answer

    @staticmethod
    def _json(response):
        try:
            answer = json.loads(response.body or b"{}")
        except ValueError:
            return {}
        return answer if isinstance(answer, dict) else {}
