import { Random } from "./random.js";

/** One upstream answer to feed to both parsers. */
export interface ResponseCase {
  index: number;
  /** The request's method: the answer to HEAD has no body. */
  method: string;
  /** What the upstream sends; then it closes the connection. */
  bytes: Buffer;
  /** The framing and the mutations the case was built with, for the run's summary. */
  tags: string[];
}

/** The limits both parsers are held to, so that cases can be built just below, at and above them. */
export interface CaseLimits {
  /** Status, header name and header value bytes of one head (or of the trailers). */
  headerBytes: number;
  /** Extension name and value bytes of one chunk-size line. */
  chunkExtensionBytes: number;
}

/**
 * What can be done to a response. Each case takes none to three, weighted: most cases are valid responses with
 * one deliberate fault, so that every rule is tried alone as well as in company.
 */
const MUTATIONS = {
  "lead-crlf": 3,
  "lead-junk": 1,
  version: 4,
  "status-code": 4,
  "status-separator": 2,
  "reason-byte": 5,
  "reason-long": 1,
  "status-line-end": 3,
  "name-byte": 6,
  "name-empty": 1,
  "space-before-colon": 2,
  "no-colon": 1,
  "value-byte": 8,
  "value-whitespace": 5,
  "obs-fold": 3,
  "first-header-space": 1,
  "header-line-end": 3,
  "blank-line-end": 2,
  "many-headers": 1,
  "head-limit": 2,
  "content-length-value": 8,
  "content-length-twice": 3,
  "transfer-encoding-value": 6,
  "transfer-encoding-twice": 2,
  "transfer-encoding-with-length": 3,
  "http10-transfer-encoding": 2,
  "connection-value": 5,
  "keep-alive-header": 1,
  "chunk-size": 5,
  "chunk-extension": 5,
  "chunk-extension-invalid": 5,
  "chunk-extension-limit": 1,
  "chunk-line-end": 3,
  "chunk-data-end": 3,
  "last-chunk": 2,
  "trailer-valid": 3,
  "trailer-invalid": 5,
  "trailer-limit": 1,
  informational: 4,
  "informational-close": 1,
  "switching-protocols": 1,
  truncate: 4,
  "extra-bytes": 3,
  "no-body-status": 3,
  "special-value-fuzz": 6,
  "extension-fuzz": 3,
  "trailer-fuzz": 3,
  "status-line-fuzz": 2,
  "byte-flip": 4,
  "byte-insert": 3,
  "byte-delete": 3,
} as const;

type Mutation = keyof typeof MUTATIONS;

/** Mutations that only make sense with a chunked body. */
const CHUNKED_ONLY: ReadonlySet<Mutation> = new Set([
  "chunk-size",
  "chunk-extension",
  "chunk-extension-invalid",
  "chunk-extension-limit",
  "chunk-line-end",
  "chunk-data-end",
  "last-chunk",
  "trailer-valid",
  "trailer-invalid",
  "trailer-limit",
  "http10-transfer-encoding",
  "transfer-encoding-with-length",
  "extension-fuzz",
  "trailer-fuzz",
]);

/** Pieces random values of Connection, Transfer-Encoding, Content-Length and the like are made of. */
const SPECIAL_VALUE_PIECES = [
  "close",
  "keep-alive",
  "upgrade",
  "chunked",
  "gzip",
  "Close",
  "CHUNKED",
  ",",
  ", ",
  " ",
].concat([
  "\t",
  "0",
  "5",
  "12",
  "x",
  '"',
  ";",
  "=",
  "\u00a0",
  "\u00ff",
  "\u0000",
  "\u007f",
  "clo",
  "chunk",
  "-",
]);
const SPECIAL_NAMES = [
  "Connection",
  "Proxy-Connection",
  "Transfer-Encoding",
  "Content-Length",
  "Upgrade",
  "Keep-Alive",
];
/** Characters random chunk extensions are made of. */
const EXTENSION_ALPHABET = 'abc=;"\\ \t\u00e9\u0001\u007f,:/';

const TCHAR = "!#$%&'*+-.^_`|~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
const ALNUM = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ";
const VCHAR = charRange(0x21, 0x7e);
const OBS_TEXT = charRange(0x80, 0xff);
/** Bytes that sit on the edge of some rule: controls, line ends, separators, DEL, NBSP and other obs-text. */
const EDGE_BYTES = [
  0x00, 0x01, 0x08, 0x09, 0x0a, 0x0b, 0x0c, 0x0d, 0x1b, 0x1f, 0x20, 0x22, 0x2c, 0x3a, 0x3b, 0x3d,
]
  .concat([0x5c, 0x7f, 0x80, 0xa0, 0xff])
  .map((code) => String.fromCharCode(code));

function charRange(from: number, to: number): string {
  let text = "";
  for (let code = from; code <= to; code++) text += String.fromCharCode(code);
  return text;
}

interface HeaderLine {
  name: string;
  colon: string;
  /** Whitespace between the colon and the value. */
  before: string;
  value: string;
  after: string;
  end: string;
}

function line(name: string, value: string): HeaderLine {
  return { name, colon: ":", before: " ", value, after: "", end: "\r\n" };
}

function serialise(lines: HeaderLine[]): string {
  let text = "";
  for (const l of lines) text += l.name + l.colon + l.before + l.value + l.after + l.end;
  return text;
}

/** Node's count of a head's bytes: reason, names, values from their first non-blank byte (trailing blanks too). */
function countedBytes(reason: string, lines: HeaderLine[]): number {
  let count = reason.length;
  for (const l of lines) count += l.name.length + (l.value === "" ? 0 : l.value.length + l.after.length);
  return count;
}

type Framing = "length" | "chunked" | "close";

class CaseBuilder {
  private readonly mutations = new Set<Mutation>();
  private readonly tags: string[] = [];

  constructor(
    private readonly random: Random,
    private readonly limits: CaseLimits,
  ) {}

  build(index: number): ResponseCase {
    const { random } = this;
    const count = random.weightedNumber({ 0: 30, 1: 45, 2: 17, 3: 8 });
    for (let i = 0; i < count; i++) this.mutations.add(random.weighted(MUTATIONS));
    const method = random.weighted({ GET: 78, HEAD: 10, POST: 6, PUT: 2, DELETE: 2, OPTIONS: 2 });
    const framing = this.chooseFraming();
    this.tags.push(`framing:${framing}`, `method:${method}`, ...[...this.mutations].sort());

    let text = "";
    if (this.has("lead-crlf")) text += this.crlfNoise();
    if (this.has("lead-junk")) text += random.pick([" ", "\t", "x", "\0", "\r\n ", "H"]);
    if (this.has("informational") || this.has("informational-close")) text += this.informationalHeads();
    text += this.finalResponse(method, framing);
    if (this.has("extra-bytes")) text += this.extraBytes();
    text = this.byteMutations(text);
    let bytes = Buffer.from(text, "latin1");
    if (this.has("truncate") && bytes.length > 1) bytes = bytes.subarray(0, random.int(bytes.length));
    return { index, method, bytes, tags: this.tags };
  }

  /** Random byte flips, insertions and deletions, mostly in the first few hundred bytes (the head). */
  private byteMutations(text: string): string {
    const { random } = this;
    const where = () => random.int(random.chance(0.7) ? Math.min(text.length + 1, 300) : text.length + 1);
    if (this.has("byte-flip") && text.length > 0) {
      const at = Math.min(where(), text.length - 1);
      text = text.slice(0, at) + this.edgeByte() + text.slice(at + 1);
    }
    if (this.has("byte-insert")) {
      const at = where();
      text = text.slice(0, at) + this.edgeByte() + text.slice(at);
    }
    if (this.has("byte-delete") && text.length > 0) {
      const at = Math.min(where(), text.length - 1);
      text = text.slice(0, at) + text.slice(at + 1);
    }
    return text;
  }

  private has(mutation: Mutation): boolean {
    return this.mutations.has(mutation);
  }

  private chooseFraming(): Framing {
    for (const mutation of this.mutations) if (CHUNKED_ONLY.has(mutation)) return "chunked";
    if (this.has("content-length-value") || this.has("content-length-twice")) return "length";
    if (this.has("transfer-encoding-value") || this.has("transfer-encoding-twice")) return "chunked";
    return this.random.weighted({ length: 45, chunked: 35, close: 20 });
  }

  private crlfNoise(): string {
    return this.random.string("\r\n", this.random.between(1, 6));
  }

  private informationalHeads(): string {
    const { random } = this;
    let text = "";
    const heads = random.between(1, 3);
    const closing = this.has("informational-close") ? random.int(heads) : -1;
    for (let i = 0; i < heads; i++) {
      const status = random.pick([100, 100, 102, 103, 103, random.between(100, 199)]);
      const lines: HeaderLine[] = [];
      if (status === 103) lines.push(line("Link", "</style.css>; rel=preload; as=style"));
      for (let n = random.int(3); n > 0; n--) lines.push(this.randomHeader());
      if (random.chance(0.15)) lines.push(line("Content-Length", String(random.int(10))));
      if (random.chance(0.1)) lines.push(line("Transfer-Encoding", "chunked"));
      let version = "HTTP/1.1";
      if (i === closing) {
        if (random.chance(0.5)) version = "HTTP/1.0";
        else lines.push(line("Connection", random.pick(["close", "Close", "keep-alive, close"])));
      } else if (random.chance(0.05)) {
        version = "HTTP/1.0";
        lines.push(line("Connection", "keep-alive"));
      }
      text += `${version} ${status} ${random.pick(["Continue", "Processing", "Early Hints", ""])}\r\n`;
      text += `${serialise(lines)}\r\n`;
      if (random.chance(0.1)) text += this.crlfNoise();
    }
    return text;
  }

  private finalResponse(method: string, framing: Framing): string {
    const { random } = this;
    let version: string = random.weighted({ "HTTP/1.1": 78, "HTTP/1.0": 22 });
    if (this.has("http10-transfer-encoding")) version = "HTTP/1.0";
    if (this.has("version"))
      version = random.pick([
        "HTTP/0.9",
        "HTTP/2.0",
        "HTTP/1.2",
        "HTTP/2.1",
        "HTTP/3.0",
        "HTTP/0.0",
        "HTTP/9.9",
        "HTTP/1",
        "HTTP/1.",
        "HTTP/1.10",
        "HTTP/11.1",
        "RTSP/1.0",
        "RTSP/1.1",
        "ICE/1.0",
        "ICE/2.0",
        "http/1.1",
        "Http/1.1",
        "HTTPS/1.1",
        "HTTP/ 1.1",
        "HTTP\\1.1",
        "HTTP 1.1",
        "HTTP/1,1",
        "HTTP/a.b",
        "",
      ]);

    let status = String(
      random.pick([200, 200, 200, 201, 204, 206, 301, 302, 304, 400, 401, 403, 404, 500, 502, 503]),
    );
    if (this.has("no-body-status")) status = random.pick(["204", "304"]);
    if (this.has("switching-protocols")) status = "101";
    if (this.has("status-code"))
      status = random.pick([
        "000",
        "001",
        "099",
        "100",
        "199",
        "600",
        "999",
        "20",
        "2000",
        "2O0",
        " 200",
        "+20",
        "2\u00b20",
      ]);

    let reason = random.pick([
      "OK",
      "Not Found",
      "Found",
      "",
      "Internal Server Error",
      "Mixed  Spaces ",
      " lead",
    ]);
    if (this.has("reason-long")) reason = random.string(VCHAR + " ", random.pick([200, 5000, 60000]));
    if (this.has("reason-byte")) reason = this.insert(reason, this.edgeByte());
    let statusLine =
      reason === "" && random.chance(0.3) ? `${version} ${status}` : `${version} ${status} ${reason}`;
    if (this.has("status-separator"))
      statusLine = random.pick([
        `${version}  ${status} ${reason}`,
        `${version}\t${status} ${reason}`,
        `${version} ${status}\t${reason}`,
        `${version} ${status}${reason || "X"}`,
        `${version} ${status}  ${reason}`,
      ]);
    if (this.has("status-line-fuzz"))
      statusLine =
        random.pick(["HTTP/1.1 ", "HTTP/1.0 ", "RTSP/1.0 ", "ICE/1.0 ", "HTTP/", ""]) +
        random.string("0123456789 .\t/HTP\u0000\u00ff\rOK", random.between(0, 12));
    let statusEnd = "\r\n";
    if (this.has("status-line-end"))
      statusEnd = random.pick(["\n", "\r", "\r\r", "\n\r", "\r\r\n", "\r\r\r\n", "\r \n"]);

    const lines: HeaderLine[] = [];
    for (let n = random.weightedNumber({ 0: 10, 2: 30, 4: 35, 8: 20, 16: 5 }); n > 0; n--)
      lines.push(this.randomHeader());
    if (this.has("many-headers"))
      for (let n = random.between(100, 1500); n > 0; n--) lines.push(line(random.string(ALNUM, 4), "v"));

    const body = this.framingHeadersAndBody(framing, lines);
    if (this.has("connection-value")) this.addConnectionHeaders(lines);
    else if (version === "HTTP/1.0" ? random.chance(0.5) : random.chance(0.2))
      lines.push(
        line(random.pick(["Connection", "connection"]), random.pick(["keep-alive", "close", "Keep-Alive"])),
      );
    if (this.has("special-value-fuzz"))
      for (let n = random.between(1, 2); n > 0; n--)
        lines.push(line(random.pick(SPECIAL_NAMES), this.specialValue()));
    if (this.has("keep-alive-header"))
      lines.push(
        line("Keep-Alive", random.pick(["timeout=5, max=100", "timeout=0", "TIMEOUT=2", "timeout=x", ""])),
      );
    if (this.has("switching-protocols") && random.chance(0.6))
      lines.push(line("Upgrade", "websocket"), line("Connection", "Upgrade"));
    shuffleTail(random, lines);
    this.mutateHeaderLines(lines);
    if (this.has("head-limit")) {
      const name = "X-Filler";
      const fill =
        this.limits.headerBytes - countedBytes(reason, lines) - name.length + random.between(-2, 2);
      lines.splice(random.int(lines.length + 1), 0, line(name, "f".repeat(Math.max(1, fill))));
    }

    let blankLine = "\r\n";
    if (this.has("blank-line-end"))
      blankLine = random.pick(["\n", "\r", "\r\r", "\n\r\n", " \r\n", "\r\r\n"]);
    let headText = serialise(lines);
    if (this.has("first-header-space")) headText = random.pick([" ", "\t"]) + headText;
    const withBody = method !== "HEAD" || random.chance(0.3);
    return statusLine + statusEnd + headText + blankLine + (withBody ? body : "");
  }

  /** Adds the headers that frame the body to `lines` and returns the body as sent. */
  private framingHeadersAndBody(framing: Framing, lines: HeaderLine[]): string {
    const { random } = this;
    if (framing === "close") return this.randomBytes(random.weightedNumber({ 0: 20, 30: 50, 600: 30 }));
    if (framing === "length") {
      const payload = this.randomBytes(this.bodySize());
      let value = String(payload.length);
      if (this.has("content-length-value")) value = this.contentLengthVariant(payload.length);
      const header = line(random.pick(["Content-Length", "content-length", "CONTENT-LENGTH"]), value);
      if (this.has("value-whitespace") && random.chance(0.5)) {
        header.before = this.oddWhitespace();
        header.after = random.chance(0.5) ? this.oddWhitespace() : "";
      }
      lines.push(header);
      if (this.has("content-length-twice"))
        lines.push(
          line(
            "Content-Length",
            random.pick([
              value,
              String(payload.length + 1),
              ` ${value}`,
              `${value} `,
              "",
              `${value}, ${value}`,
            ]),
          ),
        );
      return payload;
    }

    let coding = "chunked";
    if (this.has("transfer-encoding-value"))
      coding = random.pick([
        "Chunked",
        "CHUNKED",
        "chunked ",
        "chunked  ",
        "chunked\t",
        "\tchunked",
        "gzip, chunked",
        "gzip,chunked",
        "gzip ,\tchunked",
        "chunked, gzip",
        "identity",
        "x-custom",
        "chunked;q=1",
        "chunked,",
        ", chunked",
        "gzip, ,chunked",
        "chunkedx",
        "xchunked",
        "chunk",
        '"chunked"',
        "",
        " ",
        "chunked x, chunked",
        "chunked\u00ff",
      ]);
    const teName = random.pick(["Transfer-Encoding", "transfer-encoding", "TRANSFER-ENCODING"]);
    if (this.has("transfer-encoding-twice")) {
      const [first, second] = random.pick([
        ["chunked", "gzip"],
        ["gzip", "chunked"],
        ["chunked", "chunked"],
        ["chunked", ""],
        ["", "chunked"],
      ]);
      lines.push(line(teName, first), line("Transfer-Encoding", second));
    } else {
      lines.push(line(teName, coding));
    }
    if (this.has("transfer-encoding-with-length")) {
      const length = line("Content-Length", String(random.int(50)));
      if (random.chance(0.5)) lines.splice(lines.length - 1, 0, length);
      else lines.push(length);
      if (random.chance(0.2)) lines[lines.length - 1 - random.int(2)].value = "";
    }
    if (this.has("http10-transfer-encoding") && random.chance(0.7))
      lines.push(line("Connection", "keep-alive"));
    return this.chunkedBody();
  }

  private chunkedBody(): string {
    const { random } = this;
    const chunks = random.weightedNumber({ 0: 10, 1: 30, 2: 25, 4: 25, 12: 10 });
    const damaged = random.int(Math.max(1, chunks));
    let text = "";
    for (let i = 0; i < chunks; i++) {
      const data = this.randomBytes(
        random.weightedNumber({ 1: 10, 20: 40, 300: 40, 20000: 10 }) + random.int(5),
      );
      let size = data.length.toString(16);
      if (random.chance(0.2)) size = size.toUpperCase();
      if (random.chance(0.05)) size = "000" + size;
      const target = i === damaged;
      if (target && this.has("chunk-size")) size = this.chunkSizeVariant(size);
      let extension = "";
      if ((target && this.has("chunk-extension")) || random.chance(0.03)) extension = this.validExtension();
      if (target && this.has("chunk-extension-invalid")) extension = this.invalidExtension();
      if (target && this.has("chunk-extension-limit")) extension = this.extensionAtLimit();
      if (target && this.has("extension-fuzz"))
        extension = ";" + random.string(EXTENSION_ALPHABET, random.between(0, 10));
      let lineEnd = "\r\n";
      if (target && this.has("chunk-line-end"))
        lineEnd = random.pick(["\n", "\r", "\r\r\n", "\n\r", "\r \n"]);
      let dataEnd = "\r\n";
      if (target && this.has("chunk-data-end"))
        dataEnd = random.pick(["\n", "", "\r", "XX", "\r\r\n", "\n\r", "\r\n\r\n"]);
      text += size + extension + lineEnd + data + dataEnd;
    }

    let last = "0";
    if (this.has("last-chunk")) last = random.pick(["00", "000000", "0;ext=1", "0 ", "0\t", "", "x", "0;"]);
    if (chunks === 0 && this.has("chunk-extension")) last += this.validExtension();
    if (chunks === 0 && this.has("chunk-extension-invalid")) last += this.invalidExtension();
    text += `${last}\r\n`;

    const trailers: HeaderLine[] = [];
    if (this.has("trailer-valid"))
      for (let n = random.between(1, 3); n > 0; n--)
        trailers.push(
          random.chance(0.6)
            ? this.randomHeader()
            : random.pick([
                line("Expires", "0"),
                line("Connection", "close"),
                line("Transfer-Encoding", "gzip"),
                line("Transfer-Encoding", ""),
                line("X-Empty", ""),
                line("Upgrade", "h2c"),
              ]),
        );
    if (this.has("trailer-invalid")) trailers.push(this.invalidTrailer());
    if (this.has("trailer-fuzz"))
      trailers.push(line(random.pick([...SPECIAL_NAMES, "X"]), this.specialValue()));
    if (this.has("trailer-limit")) {
      const fill = this.limits.headerBytes - countedBytes("", trailers) - 1 + random.between(-2, 2);
      trailers.push(line("T", "t".repeat(Math.max(1, fill))));
    }
    return `${text}${serialise(trailers)}\r\n`;
  }

  private bodySize(): number {
    return this.random.weightedNumber({ 0: 15, 1: 5, 60: 45, 1500: 30, 70000: 5 }) + this.random.int(7);
  }

  private contentLengthVariant(length: number): string {
    const n = String(length);
    return this.random.pick([
      `00${n}`,
      ` ${n}`,
      `${n} `,
      `${n}  `,
      `${n}\t`,
      `\t${n}`,
      `+${n}`,
      `-${n}`,
      `${n}.0`,
      `0x${length.toString(16)}`,
      `${n},${n}`,
      `${n}, ${n}`,
      "",
      " ",
      `\u00a0${n}`,
      `${n}\u00a0`,
      `\u000b${n}`,
      `${n}\u000c`,
      `${n} ${n}`,
      "\u0665",
      "18446744073709551615",
      "18446744073709551616",
      "99999999999999999999",
      "9007199254740993",
      "0".repeat(30) + n,
    ]);
  }

  private chunkSizeVariant(size: string): string {
    return this.random.pick([
      `0x${size}`,
      `-${size}`,
      ` ${size}`,
      `${size} `,
      `${size}\t`,
      "",
      "g",
      `+${size}`,
      `${"0".repeat(40)}${size}`,
      "ffffffffffffffff",
      "FFFFFFFFFFFFFFFF",
      "10000000000000000",
      "1fffffffffffff",
      "20000000000000",
      `${size}\u0000`,
    ]);
  }

  private validExtension(): string {
    const { random } = this;
    const token = () => random.string(TCHAR, random.between(1, 8));
    return random.pick([
      `;${token()}`,
      `;${token()}=${token()}`,
      `;${token()}="${random.string(VCHAR.replace(/["\\]/g, "") + " \t", random.int(10))}"`,
      `;${token()}="a\\"b\\\\c"`,
      `;${token()}="${random.string(OBS_TEXT, 3)}"`,
      ";=",
      `;${token()}=`,
      `;${token()};${token()}=${token()}`,
      `;;${token()}`,
      `;${token()}=${token()}"${token()}"`,
      `;${token()}=""`,
    ]);
  }

  private invalidExtension(): string {
    const { random } = this;
    return random.pick([
      "; a",
      ";a ",
      ";a = b",
      ";a =b",
      ";a=b c",
      ";",
      ';"',
      ';a="b',
      ';a="b"c',
      ";a=b=c",
      `;a${this.edgeByte()}b`,
      `;a=${this.edgeByte()}`,
      `;a="${this.edgeByte()}"`,
      `;a="\\${this.edgeByte()}"`,
      ";a=b\n",
      ";\t",
      ";a,b",
      ";a\\b",
      `;a${random.string(OBS_TEXT, 1)}`,
    ]);
  }

  /** Extension bytes (names and values, separators not counted) at the limit plus -2 to 2. */
  private extensionAtLimit(): string {
    const { random } = this;
    const total = this.limits.chunkExtensionBytes + random.between(-2, 2);
    const name = random.between(1, total - 1);
    if (random.chance(0.3)) return `;${"n".repeat(name)};${"m".repeat(total - name)}`;
    if (random.chance(0.5)) return `;${"n".repeat(name)}="${"v".repeat(Math.max(0, total - name - 2))}"`;
    return `;${"n".repeat(name)}=${"v".repeat(total - name)}`;
  }

  private invalidTrailer(): HeaderLine {
    const { random } = this;
    const trailer = this.randomHeader();
    switch (random.int(9)) {
      case 0:
        trailer.name = this.insert(trailer.name, this.nonTokenByte());
        break;
      case 1:
        trailer.value = this.insert(trailer.value, this.edgeByte());
        break;
      case 2:
        trailer.end = `\r\n${random.pick([" ", "\t"])}folded\r\n`;
        break;
      case 3:
        trailer.colon = random.pick([" :", "\t:"]);
        break;
      case 4:
        trailer.colon = " ";
        break;
      case 5:
        trailer.end = random.pick(["\n", "\r", "\r\r\n"]);
        break;
      case 6:
        return line(random.pick(["Content-Length", "content-length"]), String(random.int(9)));
      case 7:
        trailer.name = ` ${trailer.name}`;
        break;
      default:
        trailer.name = "";
    }
    return trailer;
  }

  /** A random value for a header llhttp reads closely: keywords, separators, blanks and stray bytes. */
  private specialValue(): string {
    let value = "";
    for (let n = this.random.between(0, 5); n > 0; n--) value += this.random.pick(SPECIAL_VALUE_PIECES);
    return value;
  }

  private addConnectionHeaders(lines: HeaderLine[]): void {
    const { random } = this;
    for (let n = random.between(1, 2); n > 0; n--)
      lines.push(
        line(
          random.pick(["Connection", "connection", "Proxy-Connection", "CONNECTION"]),
          random.pick([
            "close",
            "close ",
            "close\t",
            "\tclose",
            "CLOSE",
            "cLoSe",
            "keep-alive",
            "Keep-Alive",
            "keep-alive, close",
            "close, keep-alive",
            "keep-alive,close",
            "x, close",
            "x,\tclose",
            "x, close\t",
            "close x",
            "closed",
            "clos",
            "upgrade",
            "Upgrade, close",
            ", close",
            "close,",
            "te, close, x",
            "",
            "keep-alive x",
            "keep-alive\t",
          ]),
        ),
      );
  }

  private mutateHeaderLines(lines: HeaderLine[]): void {
    const { random } = this;
    if (lines.length === 0) lines.push(this.randomHeader());
    const target = () => lines[random.int(lines.length)];
    if (this.has("name-byte")) {
      const l = target();
      l.name = this.insert(l.name, random.chance(0.5) ? this.nonTokenByte() : this.edgeByte());
    }
    if (this.has("name-empty")) lines.splice(random.int(lines.length + 1), 0, line("", "value"));
    if (this.has("space-before-colon")) target().colon = random.pick([" :", "\t:", "  :"]);
    if (this.has("no-colon")) target().colon = random.pick([" ", ""]);
    if (this.has("value-byte")) {
      const l = target();
      l.value = this.insert(l.value, this.edgeByte());
    }
    if (this.has("value-whitespace")) {
      const l = target();
      l.before = this.oddWhitespace();
      if (random.chance(0.6)) l.after = this.oddWhitespace();
    }
    if (this.has("obs-fold")) {
      const l = target();
      if (random.chance(0.3)) l.value = "";
      l.end = `\r\n${random.pick([" ", "\t", "  "])}${random.string(VCHAR, random.int(12))}\r\n`;
    }
    if (this.has("header-line-end")) target().end = random.pick(["\n", "\r", "\r\r\n", "\n\r", "\r \n"]);
  }

  /** Blanks around a value: SP and HTAB (optional whitespace) and look-alikes that are not (NBSP, VT, FF, NUL). */
  private oddWhitespace(): string {
    return this.random.string(" \t \t\u00a0\u000b\u000c\u0000", this.random.between(1, 3));
  }

  private randomHeader(): HeaderLine {
    const { random } = this;
    const kind = random.int(10);
    if (kind < 6) {
      const [name, values] = random.pick(COMMON_HEADERS);
      return line(random.chance(0.1) ? name.toLowerCase() : name, random.pick(values));
    }
    const name = random.string(TCHAR, random.between(1, 16));
    const alphabet = random.chance(0.2) ? VCHAR + " \t" + OBS_TEXT : VCHAR + " ";
    const value = random.string(alphabet, random.weightedNumber({ 0: 10, 8: 50, 40: 35, 400: 5 }));
    const header = line(name, value.replace(/^[ \t]+|[ \t]+$/g, ""));
    if (random.chance(0.1)) header.before = random.pick(["", "\t", "  ", " \t "]);
    if (random.chance(0.1)) header.after = random.pick([" ", "\t", "  ", " \t"]);
    return header;
  }

  private randomBytes(length: number): string {
    const { random } = this;
    if (random.chance(0.1))
      return "HTTP/1.1 200 OK\r\n\r\n0\r\n\r\n".repeat(Math.ceil(length / 26)).slice(0, length);
    let text = "";
    for (let i = 0; i < length; i++) text += String.fromCharCode(random.int(256));
    return text;
  }

  private extraBytes(): string {
    const { random } = this;
    return random.pick([
      "\r\n",
      "\r\n\r\n",
      "\n",
      "x",
      "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n",
      "HTTP/1.1 200 OK\r\n",
      this.randomBytes(random.between(1, 40)),
    ]);
  }

  private insert(text: string, piece: string): string {
    const at = this.random.int(text.length + 1);
    return text.slice(0, at) + piece + text.slice(at);
  }

  private edgeByte(): string {
    return this.random.chance(0.6) ? this.random.pick(EDGE_BYTES) : String.fromCharCode(this.random.int(256));
  }

  private nonTokenByte(): string {
    for (;;) {
      const byte = String.fromCharCode(this.random.int(256));
      if (!TCHAR.includes(byte)) return byte;
    }
  }
}

/** Moves the framing and connection headers, added last, to random places among the others. */
function shuffleTail(random: Random, lines: HeaderLine[]): void {
  for (let i = lines.length - 1; i > 0; i--) {
    if (!random.chance(0.5)) continue;
    const j = random.int(i + 1);
    [lines[i], lines[j]] = [lines[j], lines[i]];
  }
}

const COMMON_HEADERS: [string, string[]][] = [
  ["Content-Type", ["text/html; charset=utf-8", "application/json", "text/plain", "image/png"]],
  ["Date", ["Tue, 01 Dec 2026 21:28:00 GMT"]],
  ["Server", ["TornadoServer/6.4.1", "nginx", "Python/3.12 aiohttp/3.9"]],
  ["Set-Cookie", ["_xsrf=2|6e3c7f1a|5b7a; Path=/user/alice/", "a=1; HttpOnly; SameSite=Lax", "b="]],
  ["Cache-Control", ["no-cache, no-store, must-revalidate", "max-age=0", "public, max-age=31536000"]],
  ["ETag", ['"6f1ed002ab5595859014ebf0951522d9"', 'W/"1"']],
  ["Vary", ["Accept-Encoding", "Origin, Accept"]],
  ["Location", ["/hub/login?next=%2Fhub%2F", "http://127.0.0.1:9/x?a=b:c"]],
  ["X-Request-Id", ["4f1c2a", "00000000-0000-0000-0000-000000000000"]],
  ["Content-Encoding", ["gzip", "br"]],
  ["Trailer", ["X-Checksum"]],
  ["Access-Control-Allow-Origin", ["*"]],
  ["Link", ["</static/style.css>; rel=preload; as=style"]],
  ["Content-Security-Policy", ["frame-ancestors 'self'; report-uri /hub/security/csp-report"]],
  ["X-Content-Type-Options", ["nosniff"]],
  ["X-Empty", [""]],
  ["Upgrade", ["websocket", "h2c"]],
  ["Keep-Alive", ["timeout=5, max=100"]],
];

/** Case `index` of the run seeded `seed`: the same arguments always give the same bytes. */
export function generateCase(seed: number, index: number, limits: CaseLimits): ResponseCase {
  return new CaseBuilder(Random.forCase(seed, index), limits).build(index);
}
