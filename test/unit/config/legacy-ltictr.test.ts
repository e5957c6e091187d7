import t from "tap";
import {
  isLegacyInvocation,
  legacyApiAddress,
  legacyHubUrl,
  ltictrConfSettings,
  parseLtictrConf,
  readLtictrConf,
  translateLegacyArgs,
  type LegacyTranslation,
} from "../../../src/config/legacy-ltictr.js";
import { ConfigError } from "../../../src/config/config-error.js";
import { buildCommand } from "../../../src/config/command-line.js";

t.test("parses the C conf format", async (t) => {
  const text = [
    "# ltictr_proxy.conf",
    "",
    "LTICTR_API_Token = ABCDEFG",
    "   # indented comment",
    "LTICTR_Server_Cert=/etc/letsencrypt/live/hub.example/fullchain.pem\r",
    "\tLTICTR_Private_Key   =   /etc/letsencrypt/live/hub.example/privkey.pem   ",
    "Rest_Path = /webservice/rest/server.php?a=b",
    "Rest_Service = mod   lticontainer",
    "no separator on this line",
    "ltictr_api_token = second-one-is-ignored",
    "= value without key",
    "Empty_Value =",
    "__proto__ = x",
  ].join("\n");
  const conf = parseLtictrConf(text);
  t.same(conf, {
    LTICTR_API_Token: "ABCDEFG",
    LTICTR_Server_Cert: "/etc/letsencrypt/live/hub.example/fullchain.pem",
    LTICTR_Private_Key: "/etc/letsencrypt/live/hub.example/privkey.pem",
    Rest_Path: "/webservice/rest/server.php?a=b",
    Rest_Service: "mod lticontainer",
    Empty_Value: "",
    ["__proto__"]: "x",
  });
  t.equal(Object.getPrototypeOf(conf), Object.prototype, "a __proto__ key is data, not a prototype");
  t.equal(Object.keys(conf).length, 7);
});

t.test("readLtictrConf names a missing file", async (t) => {
  t.throws(() => readLtictrConf("/nonexistent/ltictr_proxy.conf"), {
    name: "ConfigError",
    message: /^ltictr_proxy configuration \/nonexistent\/ltictr_proxy\.conf: cannot read \(ENOENT/,
  });
});

t.test("maps conf keys case-insensitively and warns about the others without printing values", async (t) => {
  const { settings, warnings } = ltictrConfSettings({
    ltictr_api_token: "secret-token",
    LTICTR_Server_Cert: "/c.pem",
    LTICTR_PRIVATE_KEY: "/k.pem",
    LTICTR_Server_Chain: "/chain.pem",
    LTICTR_PID_File: "/run/p.pid",
    Rest_Path: "/ws/rest.php",
    Rest_Service: "svc",
    Rest_HTTPver: "1.0",
    LTICTR_API_PID_File: "/run/api.pid",
    Rest_Response: "TRUE",
    Moodle_Token: "leak-me-not",
    LTICTR_Server_Chain_Empty: "",
  });
  t.same(settings, {
    authToken: "secret-token",
    sslCert: "/c.pem",
    sslKey: "/k.pem",
    sslChain: "/chain.pem",
    pidFile: "/run/p.pid",
    restPath: "/ws/rest.php",
    restService: "svc",
  });
  t.equal(warnings.length, 5);
  t.match(warnings, [
    /Rest_HTTPver is ignored/,
    /LTICTR_API_PID_File is ignored/,
    /Rest_Response is ignored/,
    /Moodle_Token is unknown/,
    /LTICTR_Server_Chain_Empty is unknown/,
  ]);
  t.notMatch(warnings.join("\n"), /leak-me-not|secret-token/);
});

t.test("recognises ltictr_proxy_server command lines", async (t) => {
  const cases: Array<[string[], boolean, string?]> = [
    [["-p", "443", "-c"], true],
    [["-a", "8001", "-p", "8100"], true],
    [["-h", "http://hub:8081", "-p", "8100"], true],
    [["--conf", "/x.conf"], true],
    [["--cert", "c", "--key", "k"], true],
    [["--noexecapi"], true],
    [["-h"], false],
    [["-h", "--port", "8000"], false],
    [["--port", "8000", "--ssl-cert", "c"], false],
    [["--config", "x.json", "--pid-file", "p"], false],
    [[], false],
    [["--port", "443"], true, "/usr/local/bin/ltictr_proxy_server"],
    [["--port", "443"], false, "/usr/local/bin/ltictr-proxy"],
  ];
  for (const [argv, expected, program] of cases)
    t.equal(isLegacyInvocation(argv, program), expected, argv.join(" "));
});

t.test("hub URL: scheme added, listen port used when none is written", async (t) => {
  const cases: Array<[string, number, string]> = [
    ["hub", 443, "http://hub:443"],
    ["hub:8081", 443, "http://hub:8081"],
    ["http://10.0.0.5:8081", 443, "http://10.0.0.5:8081"],
    ["http://10.0.0.5:8081/", 443, "http://10.0.0.5:8081"],
    ["https://hub.example", 8100, "https://hub.example:8100"],
    ["http://hub:80", 443, "http://hub:80"],
    ["https://hub:443/prefix", 8100, "https://hub:443/prefix"],
    ["[::1]:8081", 443, "http://[::1]:8081"],
  ];
  for (const [value, port, expected] of cases) t.equal(legacyHubUrl(value, port), expected, value);
  for (const bad of ["ftp://hub:21", "http://", "http://hub:99999"]) {
    t.throws(() => legacyHubUrl(bad, 443), ConfigError, bad);
  }
});

t.test("API address: binds to the written host, 127.0.0.1 when none", async (t) => {
  const cases: Array<[string, ReturnType<typeof legacyApiAddress>]> = [
    ["8001", { ip: "127.0.0.1", port: 8001, tls: false }],
    [":8001", { ip: "127.0.0.1", port: 8001, tls: false }],
    ["http://:8001", { ip: "127.0.0.1", port: 8001, tls: false }],
    ["localhost:8001", { ip: "127.0.0.1", port: 8001, tls: false }],
    ["http://10.0.0.2:8001", { ip: "10.0.0.2", port: 8001, tls: false }],
    ["https://hub-api.example:8443/", { ip: "hub-api.example", port: 8443, tls: true }],
    ["[::1]:8001", { ip: "::1", port: 8001, tls: false }],
  ];
  for (const [value, expected] of cases) t.same(legacyApiAddress(value), expected, value);
  for (const bad of ["", "http://host", "80a", "0", "65536", "host:8001:9"]) {
    t.throws(() => legacyApiAddress(bad), ConfigError, JSON.stringify(bad));
  }
});

const conf = t.testdir({
  "ltictr_proxy.conf": [
    "LTICTR_API_Token = ABCDEFG",
    "LTICTR_Server_Cert = /etc/letsencrypt/live/hub.example/fullchain.pem",
    "LTICTR_Private_Key = /etc/letsencrypt/live/hub.example/privkey.pem",
    "#LTICTR_Server_Chain = /etc/pki/tls/certs/chain.pem",
    "LTICTR_PID_File = /run/ltictr/ltictr_proxy.pid",
    "Rest_Path = /moodle/webservice/rest/server.php",
    "Rest_Service = mod_lticontainer_write_nblogs",
  ].join("\n"),
  "chain.conf": "LTICTR_Server_Chain = /conf/chain.pem\n",
  "empty.conf": "# nothing\n",
});

/** Command lines as written in a unit file (no spaces inside arguments here). */
const words = (line: string) => line.split(/\s+/).filter((word) => word !== "");

t.test("translates command lines (conf values override the command line, as in C)", async (t) => {
  const noToken = {};
  const cases: Array<[string, string, NodeJS.ProcessEnv, string, Omit<Partial<LegacyTranslation>, "args">]> =
    [
      [
        "shipped unit: -a 8001 -p 443 -c --conf",
        `-a 8001 -p 443 -c --conf ${conf}/ltictr_proxy.conf`,
        noToken,
        `--port 443 --ssl-cert /etc/letsencrypt/live/hub.example/fullchain.pem
       --ssl-key /etc/letsencrypt/live/hub.example/privkey.pem --api-ip 127.0.0.1 --api-port 8001
       --pid-file /run/ltictr/ltictr_proxy.pid`,
        {
          env: { CONFIGPROXY_AUTH_TOKEN: "ABCDEFG" },
          restPath: "/moodle/webservice/rest/server.php",
          restService: "mod_lticontainer_write_nblogs",
          warnings: [],
        },
      ],
      [
        "conf cert beats --cert; CLI chain kept; -d; --pid",
        `-p 8100 -c --cert /cli/cert.pem --key /cli/key.pem --chain /cli/chain.pem
       --conf ${conf}/ltictr_proxy.conf --pid /cli.pid -d --chunked`,
        noToken,
        `--port 8100 --ssl-cert /etc/letsencrypt/live/hub.example/fullchain.pem
       --ssl-key /etc/letsencrypt/live/hub.example/privkey.pem --ssl-chain /cli/chain.pem --api-ip 127.0.0.1
       --pid-file /run/ltictr/ltictr_proxy.pid --log-level debug`,
        {},
      ],
      [
        "simple proxy mode: -h without port, -n, C default certificate paths and PID file",
        `-h hub.internal -p 443 -c -n --conf ${conf}/empty.conf`,
        noToken,
        `--port 443 --ssl-cert /etc/pki/tls/certs/server.pem --ssl-key /etc/pki/tls/private/key.pem
       --api-ip 127.0.0.1 --default-target http://hub.internal:443 --pid-file /var/run/ltictr_proxy.pid`,
        {
          env: { CONFIGPROXY_AUTH_TOKEN: "default_token" },
          warnings: [
            "-n/--noexecapi: the REST API is built into ltictr-proxy; stop any separate ltictr_api_server",
            "no LTICTR_API_Token configured: the REST API uses ltictr_proxy_server's default token; set one",
          ],
        },
      ],
      [
        "an existing CONFIGPROXY_AUTH_TOKEN is kept when the conf has none",
        `-p 8100 --config ${conf}/chain.conf --cert /c.pem stray`,
        { CONFIGPROXY_AUTH_TOKEN: "from-env" },
        "--port 8100 --api-ip 127.0.0.1 --pid-file /var/run/ltictr_proxy.pid",
        {
          env: {},
          warnings: [
            'ignoring stray argument "stray" (ltictr_proxy_server ignores it too)',
            "a certificate is configured but -c is not given: serving plain HTTP, as ltictr_proxy_server does",
          ],
        },
      ],
      [
        "https API on a named interface reuses the certificate",
        `-p 443 -c -a https://10.0.0.2:8001 --cert /c.pem --key /k.pem --conf ${conf}/chain.conf`,
        { CONFIGPROXY_AUTH_TOKEN: "t" },
        `--port 443 --ssl-cert /c.pem --ssl-key /k.pem --ssl-chain /conf/chain.pem
       --api-ip 10.0.0.2 --api-port 8001 --api-ssl-cert /c.pem --api-ssl-key /k.pem
       --pid-file /var/run/ltictr_proxy.pid`,
        {
          warnings: [
            "the certificate chain is not sent on the https API port, only the certificate",
            "the REST API listens on 10.0.0.2 only (ltictr_proxy_server listened on all interfaces)",
          ],
        },
      ],
      ["--version", "--version -p 443", noToken, "--version", { env: {} }],
    ];
  for (const [name, argv, env, args, expected] of cases) {
    const translation = translateLegacyArgs(words(argv), env);
    t.same(translation.args, words(args), `${name}: flags`);
    t.match(translation, expected, `${name}: env, settings, warnings`);
    if (expected.warnings) t.same(translation.warnings, expected.warnings, `${name}: exactly these warnings`);
    if (expected.env) t.same(translation.env, expected.env, `${name}: exactly this environment`);
    if (translation.args[0] !== "--version") {
      const program = buildCommand("0.0.0");
      t.doesNotThrow(
        () => program.parse(translation.args, { from: "user" }),
        `${name}: the CLI accepts the flags`,
      );
    }
  }
});

t.test("invalid command lines are ConfigErrors with a clear message", async (t) => {
  const cases: Array<[string[], RegExp]> = [
    [["-c"], /^-p <port> is required; usage: ltictr_proxy_server -p client_side_port/],
    [["-p"], /^-p needs a value/],
    [["-p", "https"], /^-p "https": expected a port number/],
    [["-p", "443", "-u", "nobody"], /^-u is not supported: .*systemd User= or DynamicUser=/],
    [["-p", "443", "-x"], /^unknown argument -x; usage:/],
    [
      ["-p", "443", "--conf", "/nonexistent.conf"],
      /^ltictr_proxy configuration \/nonexistent\.conf: cannot read/,
    ],
    [["-p", "443", "-a", "api:port"], /^-a "api:port": expected \[url:\]port/],
    [["-p", "443", "-h", "ftp://hub"], /^-h "ftp:\/\/hub": not a host URL/],
  ];
  for (const [argv, message] of cases) {
    t.throws(() => translateLegacyArgs(argv, {}), { name: "ConfigError", message }, argv.join(" "));
  }
});
