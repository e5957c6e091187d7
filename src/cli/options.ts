import { Command, InvalidArgumentError, Option } from "commander";

/**
 * The command line: every option of configurable-http-proxy 5.3 with CHP's names, meanings and defaults
 * (chp-compat-spec §1.2), then the options of the ltictr role. Parsed with commander, as CHP is, so errors
 * read the same (`error: unknown option '--bogus'`).
 */
export interface CliOptions {
  ip?: string;
  port?: number;
  socket?: string;
  sslKey?: string;
  sslCert?: string;
  sslCa?: string;
  sslChain?: string;
  sslRequestCert?: boolean;
  sslRejectUnauthorized?: boolean;
  sslProtocol?: string;
  sslCiphers?: string;
  sslAllowRc4?: boolean;
  sslDhparam?: string;
  sslSelfSigned?: boolean;
  apiIp: string;
  apiPort?: number;
  apiSocket?: string;
  apiSslKey?: string;
  apiSslCert?: string;
  apiSslCa?: string;
  apiSslRequestCert?: boolean;
  apiSslRejectUnauthorized?: boolean;
  clientSslKey?: string;
  clientSslCert?: string;
  clientSslCa?: string;
  clientSslRequestCert?: boolean;
  clientSslRejectUnauthorized?: boolean;
  defaultTarget?: string;
  errorTarget?: string;
  errorPath?: string;
  redirectPort?: number;
  redirectTo?: number;
  pidFile?: string;
  xForward: boolean;
  prependPath: boolean;
  includePrefix: boolean;
  autoRewrite?: boolean;
  changeOrigin?: boolean;
  protocolRewrite?: string;
  customHeader: string[];
  insecure?: boolean;
  hostRouting?: boolean;
  metricsIp: string;
  metricsPort?: number;
  metricsSocket?: string;
  logLevel: string;
  logFormat: "text" | "json";
  accessLog?: boolean;
  timeout?: number;
  proxyTimeout?: number;
  keepAliveTimeout: number;
  storageBackend?: string;
  config?: string;
  dataDir?: string;
  recordsFile?: string;
  moodleUrl?: string;
  moodleTokenFile?: string;
  moodleAllow: string[];
  moodleMultiRecord?: boolean;
  deliveryBatchSize: number;
  deliveryBatchAge: number;
  deliveryConcurrency: number;
  spoolMaxBytes: number;
  legacyLmsCookies?: boolean;
  shutdownTimeout: number;
}

function integer(min: number, max: number) {
  return (value: string): number => {
    const n = Number(value);
    if (!/^\s*\d+\s*$/.test(value) || !Number.isSafeInteger(n) || n < min || n > max) {
      throw new InvalidArgumentError(`expected a whole number from ${min} to ${max}.`);
    }
    return n;
  };
}

const port = integer(0, 65535);
const milliseconds = integer(0, 2_147_483_647);
const collect = (value: string, previous: string[]): string[] => [...previous, value];

export function buildCommand(version: string): Command {
  const program = new Command("ltictr-proxy")
    .version(version, "-V, --version")
    .description(
      "A reverse proxy for JupyterHub, configurable over a REST API like configurable-http-proxy, that reports\n" +
        "Jupyter code-cell results to Moodle's mod_lticontainer.",
    )
    .allowExcessArguments(false)
    .exitOverride()
    .configureOutput({ writeErr: (text) => process.stderr.write(text) });

  program
    .option("--ip <ip-address>", "Public-facing IP of the proxy (all interfaces when empty)")
    .addOption(new Option("--port <n>", "Public-facing port of the proxy (defaults to 8000)").argParser(port))
    .addOption(
      new Option("--socket <path>", "Path to a UNIX domain socket for the proxy").conflicts(["port", "ip"]),
    )
    .option("--ssl-key <keyfile>", "SSL key to use, if any")
    .option("--ssl-cert <certfile>", "SSL certificate to use, if any")
    .option("--ssl-ca <ca-file>", "SSL certificate authority, if any")
    .option("--ssl-chain <chain-file>", "Intermediate certificates appended to --ssl-cert")
    .option("--ssl-request-cert", "Request SSL certs to authenticate clients")
    .option(
      "--ssl-reject-unauthorized",
      "Reject unauthorized SSL connections (only meaningful if --ssl-request-cert is set)",
    )
    .option(
      "--ssl-protocol <ssl-protocol>",
      "Minimum TLS protocol (TLSv1_2 or TLSv1.2 style; default TLSv1.2)",
    )
    .option("--ssl-ciphers <ciphers>", "`:`-separated ssl cipher list. Default excludes RC4")
    .option("--ssl-allow-rc4", "Accepted for compatibility; RC4 stays disabled")
    .option("--ssl-dhparam <dhparam-file>", "SSL Diffie-Helman Parameters pem file, if any")
    .option("--ssl-self-signed", "Serve HTTPS with a generated self-signed certificate when none is given")
    .option("--api-ip <ip>", "Inward-facing IP for API requests", "localhost")
    .addOption(
      new Option(
        "--api-port <n>",
        "Inward-facing port for API requests (defaults to --port=value+1)",
      ).argParser(port),
    )
    .addOption(
      new Option("--api-socket <path>", "Path to a UNIX domain socket for the API").conflicts([
        "apiPort",
        "apiIp",
      ]),
    )
    .option("--api-ssl-key <keyfile>", "SSL key to use, if any, for API requests")
    .option("--api-ssl-cert <certfile>", "SSL certificate to use, if any, for API requests")
    .option("--api-ssl-ca <ca-file>", "SSL certificate authority, if any, for API requests")
    .option("--api-ssl-request-cert", "Request SSL certs to authenticate clients for API requests")
    .option("--api-ssl-reject-unauthorized", "Reject unauthorized SSL connections for API requests")
    .option("--client-ssl-key <keyfile>", "SSL key to use, if any, for proxy to client requests")
    .option("--client-ssl-cert <certfile>", "SSL certificate to use, if any, for proxy to client requests")
    .option("--client-ssl-ca <ca-file>", "SSL certificate authority, if any, for proxy to client requests")
    .option("--client-ssl-request-cert", "Accepted for compatibility (no effect, as in CHP)")
    .option("--client-ssl-reject-unauthorized", "Accepted for compatibility (no effect, as in CHP)")
    .option("--default-target <host>", "Default proxy target (proto://host[:port])")
    .option("--error-target <host>", "Alternate server for handling proxy errors (proto://host[:port])")
    .option("--error-path <path>", "Alternate folder for the error pages (<code>.html, error.html)")
    .addOption(
      new Option(
        "--redirect-port <redirect-port>",
        "Redirect HTTP requests on this port to the server on HTTPS",
      ).argParser(port),
    )
    .addOption(
      new Option(
        "--redirect-to <port>",
        "Redirect HTTP requests from --redirect-port to this port",
      ).argParser(port),
    )
    .option("--pid-file <pid-file>", "Write our PID to a file")
    .option("--no-x-forward", "Don't add 'X-forward-' headers to proxied requests")
    .option("--no-prepend-path", "Avoid prepending target paths to proxied requests")
    .option("--no-include-prefix", "Don't include the routing prefix in proxied requests")
    .option("--auto-rewrite", "Rewrite the Location header host/port in redirect responses")
    .option("--change-origin", "Changes the origin of the host header to the target URL")
    .option(
      "--protocol-rewrite <proto>",
      "Rewrite the Location header protocol in redirect responses to the specified protocol",
    )
    .option(
      "--custom-header <header>",
      "Custom header to add to proxied requests. Use same option for multiple headers (--custom-header k1:v1 --custom-header k2:v2)",
      collect,
      [],
    )
    .option("--insecure", "Disable SSL cert verification of upstream servers")
    .option("--host-routing", "Use host routing (host as first level of path)")
    .option("--metrics-ip <ip>", "IP for metrics server", "")
    .addOption(
      new Option(
        "--metrics-port <n>",
        "Port of metrics server. Defines if metrics server will be started",
      ).argParser(port),
    )
    .addOption(
      new Option("--metrics-socket <path>", "Path to a UNIX domain socket for metrics").conflicts([
        "metricsPort",
        "metricsIp",
      ]),
    )
    .option("--log-level <loglevel>", "Log level (debug, info, warn, error)", "info")
    .addOption(new Option("--log-format <format>", "Log format").choices(["text", "json"]).default("text"))
    .option("--access-log", "Log every proxied request at info level")
    .addOption(
      new Option("--timeout <n>", "Timeout (in millis) when proxy drops connection for a request.").argParser(
        milliseconds,
      ),
    )
    .addOption(
      new Option(
        "--proxy-timeout <n>",
        "Timeout (in millis) when proxy receives no response from target.",
      ).argParser(milliseconds),
    )
    .option(
      "--storage-backend <storage-class>",
      "Define an external storage class. Defaults to in-MemoryStore.",
    )
    .addOption(
      new Option("--keep-alive-timeout <timeout>", "Set timeout (in milliseconds) for Keep-Alive connections")
        .argParser(milliseconds)
        .default(5000),
    )
    .option("--config <file>", "Configuration file (JSON, or the C ltictr_proxy's .conf format)")
    .option(
      "--data-dir <dir>",
      "State folder: spool, secrets, generated certificates (default $STATE_DIRECTORY or ./var)",
    )
    .option("--records-file <file>", "Also append every captured record to this file as JSON lines")
    .option("--moodle-url <url>", "Moodle wwwroot to deliver records to (e.g. https://moodle.example/moodle)")
    .option(
      "--moodle-token-file <file>",
      "File holding the Moodle web-service token (or env LTICTR_MOODLE_TOKEN)",
    )
    .option(
      "--moodle-allow <origin>",
      "Moodle origin that LTI launches may name as their destination (repeatable)",
      collect,
      [],
    )
    .option(
      "--moodle-multi-record",
      "Send nb_logs[0..N-1] in one call (needs a plugin that reads every entry)",
    )
    .addOption(
      new Option("--delivery-batch-size <n>", "Records taken from the spool per batch")
        .argParser(integer(1, 100_000))
        .default(100),
    )
    .addOption(
      new Option("--delivery-batch-age <ms>", "Longest wait before a partial batch is sent")
        .argParser(milliseconds)
        .default(200),
    )
    .addOption(
      new Option("--delivery-concurrency <n>", "Moodle calls in flight at once")
        .argParser(integer(1, 1024))
        .default(64),
    )
    .addOption(
      new Option("--spool-max-bytes <n>", "Disk the spool may use")
        .argParser(integer(4096, Number.MAX_SAFE_INTEGER))
        .default(256 * 1024 * 1024),
    )
    .option(
      "--legacy-lms-cookies",
      "Also accept the C ltictr_proxy's four plaintext lms_* cookies (migration only)",
    )
    .addOption(
      new Option("--shutdown-timeout <ms>", "Longest graceful shutdown on SIGTERM")
        .argParser(milliseconds)
        .default(10_000),
    );
  return program;
}
