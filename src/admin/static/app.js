// The admin page: one ES module, no build step. Each view loads its JSON from /admin/api/… once, then follows
// the proxy's live event stream (/admin/api/events): nothing here polls. Data is put into the page as text
// (never as HTML), so nothing the proxy relays can run as script here.

const uPlot = window.uPlot;
const SERIES_SECONDS = 600;
const ROUTES_SHOWN = 500;

const state = {
  csrf: null,
  stream: null,
  retryTimer: null,
  view: "overview",
  overview: null,
  series: { times: [], requests: [], websockets: [], cells: [], delivered: [] },
  routes: new Map(),
  sessions: new Map(),
  results: new Map(),
  resultsMeta: { overflow: { ok: 0, error: 0 }, unpaired: 0 },
  delivery: null,
  engine: { images: null, volumes: null, filter: null },
  loaded: new Set(),
  dirty: new Set(),
  charts: {},
  renderQueued: false,
  reloads: new Map(),
};

// ---------------------------------------------------------------------------------------------------------------
// Small helpers

const $ = (id) => document.getElementById(id);

/** An element with properties (`class`, `text`, `on*` handlers, attributes) and children. */
function el(tag, props = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(props)) {
    if (value === undefined || value === null || value === false) continue;
    if (key === "class") node.className = value;
    else if (key === "text") node.textContent = String(value);
    else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
    else node.setAttribute(key, value === true ? "" : String(value));
  }
  for (const child of children.flat()) {
    if (child === undefined || child === null || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

/**
 * A table with a caption (read by screen readers) and rows of cells (`{text, class}`, a node, or plain values).
 * Each cell carries its column's name, shown beside it when narrow screens stack the rows.
 */
function table(caption, headers, rows, emptyText) {
  if (rows.length === 0) return el("p", { class: "empty", text: emptyText });
  const labels = headers.map((h) => h.label ?? h);
  const cell = (value, i) => {
    const props = { "data-label": labels[i] || undefined };
    if (value instanceof Node) return el("td", props, value);
    if (value !== null && typeof value === "object")
      return el("td", { ...props, class: value.class }, value.text ?? "");
    return el("td", props, value ?? "");
  };
  return el(
    "table",
    {},
    el("caption", { text: caption }),
    el(
      "thead",
      {},
      el(
        "tr",
        {},
        headers.map((h, i) => el("th", { scope: "col", class: h.num ? "num" : undefined, text: labels[i] })),
      ),
    ),
    el(
      "tbody",
      {},
      rows.map((cells) => el("tr", {}, cells.map(cell))),
    ),
  );
}

function card(label, value, tone, small) {
  return el(
    "div",
    { class: `card${tone ? ` ${tone}` : ""}` },
    el("div", { class: "label", text: label }),
    el("div", { class: `value${small ? " small" : ""}`, text: value }),
  );
}

const number = (n) => (n === undefined || n === null ? "–" : Number(n).toLocaleString("en")); // stable separators
const num = (n) => ({ text: number(n), class: "num" });
const time = (ms) => (ms ? new Date(ms).toLocaleTimeString() : "–");
const dateTime = (ms) => (ms ? new Date(ms).toLocaleString() : "–");

function ago(ms) {
  if (!ms) return "–";
  const seconds = Math.max(0, Math.round((Date.now() - ms) / 1000));
  if (seconds < 60) return `${seconds} s ago`;
  if (seconds < 3600) return `${Math.floor(seconds / 60)} min ago`;
  if (seconds < 86400) return `${Math.floor(seconds / 3600)} h ago`;
  return `${Math.floor(seconds / 86400)} d ago`;
}

function duration(seconds) {
  const s = Math.floor(seconds);
  const d = Math.floor(s / 86400);
  const h = Math.floor((s % 86400) / 3600);
  const m = Math.floor((s % 3600) / 60);
  return d > 0 ? `${d} d ${h} h` : h > 0 ? `${h} h ${m} min` : m > 0 ? `${m} min ${s % 60} s` : `${s} s`;
}

function pill(text, tone) {
  return el("span", { class: `pill ${tone}`, text });
}

function notice(text) {
  $("notice").textContent = text;
}

function cssVar(name) {
  return getComputedStyle(document.documentElement).getPropertyValue(name).trim();
}

class ApiError extends Error {
  constructor(status, message, code) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

/** One call to the admin API; POSTs carry the session's CSRF token. */
async function api(path, { method = "GET", body } = {}) {
  const init = { method, headers: {}, credentials: "same-origin", cache: "no-store" };
  if (method === "POST") {
    init.headers["x-csrf-token"] = state.csrf ?? "";
    init.headers["content-type"] = "application/json";
    init.body = JSON.stringify(body ?? {});
  }
  const response = await fetch(`/admin/api${path}`, init);
  if (response.status === 401) {
    showSignIn("Your session has ended; sign in again.");
    throw new ApiError(401, "signed out", "unauthorized");
  }
  if (response.status === 204) return undefined;
  const data = await response.json().catch(() => ({}));
  if (!response.ok) throw new ApiError(response.status, data.error ?? `HTTP ${response.status}`, data.code);
  return data;
}

// ---------------------------------------------------------------------------------------------------------------
// Sign-in and the live stream

function showSignIn(message = "") {
  closeStream();
  state.csrf = null;
  state.loaded.clear();
  $("app").hidden = true;
  $("signin").hidden = false;
  $("signin-error").textContent = message;
  $("token").focus();
}

function showApp() {
  $("signin").hidden = true;
  $("app").hidden = false;
  openStream();
  showView(viewFromHash(), false);
}

async function signIn(event) {
  event.preventDefault();
  const input = $("token");
  const button = event.submitter ?? $("signin-form").querySelector("button");
  button.disabled = true;
  $("signin-error").textContent = "";
  try {
    const response = await fetch("/admin/api/login", {
      method: "POST",
      headers: { "content-type": "application/json" },
      credentials: "same-origin",
      body: JSON.stringify({ token: input.value }),
    });
    const data = await response.json().catch(() => ({}));
    if (!response.ok) {
      $("signin-error").textContent =
        response.status === 401 ? "Wrong token." : (data.error ?? `HTTP ${response.status}`);
      input.select();
      return;
    }
    // The token is not kept: from here on the HttpOnly session cookie signs the requests in.
    input.value = "";
    state.csrf = data.csrfToken;
    showApp();
  } catch (error) {
    $("signin-error").textContent = `Cannot reach the proxy: ${error.message}`;
  } finally {
    button.disabled = false;
  }
}

async function signOut() {
  // Closed first: the server ends the session's stream, and a browser stream would try to come back.
  closeStream();
  try {
    await api("/logout", { method: "POST" });
  } catch {
    // Signed out either way.
  }
  showSignIn("Signed out.");
}

function setLive(on, text) {
  const live = $("live");
  live.className = `live ${on ? "on" : "off"}`;
  live.textContent = text ?? (on ? "live" : "reconnecting…");
}

function openStream() {
  closeStream();
  const source = new EventSource("/admin/api/events");
  state.stream = source;
  source.addEventListener("open", () => {
    setLive(true);
    // Whatever happened while the stream was down is read afresh.
    state.loaded.clear();
    loadView("overview");
    if (state.view !== "overview") loadView(state.view);
  });
  source.addEventListener("error", () => {
    if (state.stream !== source) return;
    setLive(false);
    if (source.readyState === EventSource.CLOSED) void streamRefused();
  });
  source.addEventListener("tick", (event) => onTick(JSON.parse(event.data)));
  source.addEventListener("route", (event) => onRoute(JSON.parse(event.data)));
  source.addEventListener("session", (event) => onSession(JSON.parse(event.data)));
  source.addEventListener("delivery", (event) => onDelivery(JSON.parse(event.data)));
  source.addEventListener("certificate", () => loadView("overview"));
}

function closeStream() {
  clearTimeout(state.retryTimer);
  if (state.stream) state.stream.close();
  state.stream = null;
}

/** The server closed the stream for good: signed out, or too many pages open (then try again later). */
async function streamRefused() {
  try {
    const session = await api("/session");
    if (session.kind === "none") {
      showSignIn("Your session has ended; sign in again.");
      return;
    }
    setLive(false, "too many pages open; retrying…");
    state.retryTimer = setTimeout(openStream, 5000);
  } catch {
    // api() showed the sign-in form.
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Views

const VIEWS = {
  overview: { load: loadOverview, render: renderOverview },
  routes: { load: loadRoutes, render: renderRoutes },
  sessions: { load: loadSessions, render: renderSessions },
  results: { load: loadResults, render: renderResults },
  delivery: { load: loadDelivery, render: renderDelivery },
  engine: { load: loadEngine, render: renderEngine },
};

function viewFromHash() {
  const name = location.hash.slice(1);
  return Object.hasOwn(VIEWS, name) ? name : "overview";
}

function showView(name, focus = true) {
  state.view = name;
  notice("");
  for (const view of Object.keys(VIEWS)) $(`view-${view}`).hidden = view !== name;
  for (const link of document.querySelectorAll("#nav a")) {
    if (link.dataset.view === name) link.setAttribute("aria-current", "page");
    else link.removeAttribute("aria-current");
  }
  if (!state.loaded.has(name)) loadView(name);
  else markDirty(name);
  if (focus) $(`h-${name}`).focus();
}

async function loadView(name) {
  state.loaded.add(name);
  try {
    await VIEWS[name].load();
    markDirty(name);
  } catch (error) {
    state.loaded.delete(name);
    if (error.status !== 401) notice(`Cannot load ${name}: ${error.message}`);
  }
}

function markDirty(name) {
  state.dirty.add(name);
  if (state.renderQueued) return;
  state.renderQueued = true;
  requestAnimationFrame(() => {
    state.renderQueued = false;
    if (state.dirty.has(state.view)) {
      state.dirty.delete(state.view);
      VIEWS[state.view].render();
    }
  });
}

// Overview --------------------------------------------------------------------------------------------------------

async function loadOverview() {
  const overview = await api("/overview");
  state.overview = overview;
  $("version").textContent = `v${overview.version}`;
  const { times, values } = overview.series;
  state.series = {
    times: times.map((t) => t / 1000),
    requests: values.requests,
    websockets: values.websockets,
    cells: values.cells,
    delivered: values.delivered,
  };
  if (!overview.features.delivery) $("replay").disabled = true;
}

function renderOverview() {
  const o = state.overview;
  if (!o) return;
  const last = (name) => state.series[name].at(-1) ?? 0;
  const certificate = o.certificates.find((c) => c.listener === "public") ?? o.certificates[0];
  const certTone = certificate
    ? certificate.daysLeft < 0
      ? "bad"
      : certificate.daysLeft < 14
        ? "warn"
        : "ok"
    : undefined;
  const dead = o.deadLetters ?? 0;
  $("overview-cards").replaceChildren(
    card("Version", o.version, undefined, true),
    card("Uptime", duration((Date.now() - o.startedAt) / 1000), undefined, true),
    card("Requests / s", number(last("requests"))),
    card("WebSockets / s", number(last("websockets"))),
    card("Open WebSockets", number(o.openWebSockets)),
    card("Open kernel sockets", number(o.kernelSockets)),
    card("Routes", number(o.routes.count)),
    card("Records captured", number(o.totals.captured)),
    card(
      "Delivered",
      o.features.delivery ? number(o.totals.delivered) : "off",
      o.features.delivery ? "ok" : undefined,
    ),
    card("Queued", o.queue ? number(o.queue.depth) : "–", o.queue?.depth > 0 ? "warn" : undefined),
    card("Dead letters", o.features.delivery ? number(dead) : "–", dead > 0 ? "bad" : undefined),
    card("Certificate", certificate ? `${certificate.daysLeft} days left` : "no TLS", certTone, true),
  );
  renderSeriesChart();
  $("overview-moodle").replaceChildren(
    table(
      "Moodle origins and their delivery state",
      ["Origin", "State", "Delivered", "Last error"],
      o.moodle.map((m) => [
        m.origin,
        originState(m),
        num(m.delivered ?? 0),
        m.lastError ? `${m.lastError} (${time(m.lastErrorAt)})` : "",
      ]),
      o.features.delivery ? "No Moodle origin yet." : "No Moodle configured (--moodle-url, --moodle-allow).",
    ),
  );
  $("overview-certificates").replaceChildren(
    table(
      "TLS certificates",
      ["Listener", "Subject", "Valid until", { label: "Days left", num: true }],
      o.certificates.map((c) => [c.listener, c.subject, dateTime(Date.parse(c.validTo)), num(c.daysLeft)]),
      "No TLS certificate: the proxy serves plain HTTP.",
    ),
  );
}

function renderSeriesChart() {
  const container = $("overview-chart");
  const s = state.series;
  const data = [s.times, s.requests, s.websockets, s.cells, s.delivered];
  const width = Math.max(200, container.clientWidth - 12);
  const existing = state.charts.series;
  if (existing && existing.root.parentNode === container && existing.width === width) {
    existing.setData(data);
    return;
  }
  existing?.destroy();
  const text = cssVar("--text");
  const grid = cssVar("--border");
  const line = (label, color) => ({ label, stroke: color, width: 2, points: { show: false } });
  state.charts.series = new uPlot(
    {
      width,
      height: 220,
      scales: { x: { time: true } },
      axes: [
        // Whole seconds: the series has one point a second.
        {
          stroke: text,
          grid: { stroke: grid },
          ticks: { stroke: grid },
          incrs: [1, 2, 5, 10, 15, 30, 60, 120, 300, 600],
        },
        { stroke: text, grid: { stroke: grid }, ticks: { stroke: grid }, size: 50 },
      ],
      series: [
        {},
        line("requests/s", cssVar("--series-1")),
        line("WebSockets/s", cssVar("--series-2")),
        line("cells/s", cssVar("--series-3")),
        line("delivered/s", cssVar("--series-4")),
      ],
    },
    data,
    container,
  );
}

function originState(m) {
  if (m.state === "backing-off") return pill(`backing off until ${time(m.retryAt)}`, "bad");
  if (m.state === "probing") return pill("probing", "warn");
  if (m.state === "idle") return pill("idle", "warn");
  return pill(m.inFlight > 0 ? "sending" : "ok", "ok");
}

function onTick(tick) {
  const s = state.series;
  s.times.push(tick.t / 1000);
  for (const name of ["requests", "websockets", "cells", "delivered"]) s[name].push(tick.rates[name]);
  if (s.times.length > SERIES_SECONDS)
    for (const key of Object.keys(s)) s[key].splice(0, s[key].length - SERIES_SECONDS);
  const o = state.overview;
  if (o) {
    o.totals = tick.totals;
    o.openWebSockets = tick.gauges.openWebSockets;
    o.kernelSockets = tick.gauges.kernelSockets;
    if (o.queue && tick.gauges.queued !== undefined) {
      o.queue.depth = tick.gauges.queued;
      o.queue.oldestCapturedAt = tick.gauges.oldestQueuedAt;
    }
    markDirty("overview");
  }
  if (tick.reload) {
    // More changed in one second than a tick carries: read the views afresh.
    for (const name of ["results", "sessions"]) {
      state.loaded.delete(name);
      if (state.view === name) loadView(name);
    }
    return;
  }
  for (const change of tick.results) {
    const key = resultKey(change);
    const row = state.results.get(key) ?? { ...change, ok: 0, error: 0 };
    row.ok += change.ok;
    row.error += change.error;
    state.results.set(key, row);
  }
  if (tick.results.length > 0) markDirty("results");
  for (const [id, executions, ok, error, aborted] of tick.sessions) {
    const session = state.sessions.get(id);
    if (!session) continue;
    session.counts.executions += executions;
    session.counts.ok += ok;
    session.counts.error += error;
    session.counts.aborted += aborted;
  }
  if (tick.sessions.length > 0) markDirty("sessions");
  if (state.view === "delivery" && state.delivery) {
    state.delivery.status.spool.depth = tick.gauges.queued ?? state.delivery.status.spool.depth;
    state.delivery.status.spool.oldestCapturedAt = tick.gauges.oldestQueuedAt;
    markDirty("delivery");
  }
}

// Routes ----------------------------------------------------------------------------------------------------------

async function loadRoutes() {
  const { routes } = await api("/routes");
  state.routes = new Map(routes.map((route) => [route.path, route]));
}

function onRoute({ path, route }) {
  if (route) state.routes.set(path, route);
  else state.routes.delete(path);
  if (state.overview) state.overview.routes.count = state.routes.size || state.overview.routes.count;
  markDirty("routes");
}

function renderRoutes() {
  const filter = $("routes-filter").value.trim().toLowerCase();
  const all = [...state.routes.values()].sort((a, b) => (a.path < b.path ? -1 : 1));
  const matching = filter
    ? all.filter((r) =>
        [r.path, r.target, r.user ?? "", r.serverName ?? ""].some((v) => v.toLowerCase().includes(filter)),
      )
    : all;
  const shown = matching.slice(0, ROUTES_SHOWN);
  $("routes-count").textContent =
    `${matching.length} of ${all.length} routes` +
    (matching.length > shown.length ? ` (first ${shown.length} shown)` : "");
  $("routes-table").replaceChildren(
    table(
      "Routes",
      ["Path", "Target", "User", "Server", "Last activity", { label: "Sockets", num: true }, ""],
      shown.map((r) => [
        { text: r.path, class: "mono" },
        { text: r.target, class: "mono" },
        r.user ?? "",
        r.serverName ?? "",
        r.lastActivity ? ago(Date.parse(r.lastActivity)) : "–",
        num(r.sockets),
        el("button", {
          type: "button",
          class: "danger",
          text: "Delete",
          "aria-label": `Delete route ${r.path}`,
          onclick: () => deleteRoute(r.path),
        }),
      ]),
      filter ? "No route matches the filter." : "No routes.",
    ),
  );
}

async function deleteRoute(path) {
  if (!confirm(`Delete the route ${path}? Its users lose access until JupyterHub adds it again.`)) return;
  try {
    await api("/routes/delete", { method: "POST", body: { path } });
    notice(`Route ${path} deleted.`);
  } catch (error) {
    if (error.status !== 401) notice(`Cannot delete ${path}: ${error.message}`);
  }
}

// Sessions --------------------------------------------------------------------------------------------------------

async function loadSessions() {
  const { sessions } = await api("/sessions");
  state.sessions = new Map(sessions.map((s) => [s.id, s]));
}

function onSession(message) {
  if (message.opened) state.sessions.set(message.opened.id, message.opened);
  if (message.closed !== undefined) state.sessions.delete(message.closed);
  markDirty("sessions");
}

function renderSessions() {
  const sessions = [...state.sessions.values()].sort((a, b) => a.openedAt - b.openedAt);
  $("sessions-table").replaceChildren(
    table(
      "Open kernel WebSockets",
      [
        "User",
        "Kernel",
        "Format",
        "Opened",
        { label: "Executions", num: true },
        { label: "OK", num: true },
        { label: "Error", num: true },
        { label: "Aborted", num: true },
        "LTI inst / lti",
      ],
      sessions.map((s) => [
        s.user ?? "–",
        { text: s.kernelId, class: "mono" },
        s.format ?? "–",
        ago(s.openedAt),
        num(s.counts.executions),
        num(s.counts.ok),
        num(s.counts.error),
        num(s.counts.aborted),
        s.instId ? `${s.instId} / ${s.ltiId}` : "–",
      ]),
      "No kernel socket is open.",
    ),
  );
}

// Results ---------------------------------------------------------------------------------------------------------

const resultKey = (r) => [r.instance, r.user, r.filename, r.codenum].join("\u0000");

async function loadResults() {
  const snapshot = await api("/results");
  state.results = new Map(snapshot.rows.map((row) => [resultKey(row), row]));
  state.resultsMeta = { overflow: snapshot.overflow, unpaired: snapshot.unpaired };
}

function instanceLabel(instance) {
  if (instance === "") return "(no LTI launch)";
  const [inst, lti] = instance.split("/");
  return `instance ${inst}, LTI ${lti}`;
}

/** Keeps a select's options in step with the data, keeping the choice. */
function fillSelect(select, allLabel, values, label) {
  const chosen = select.value || "*";
  const wanted = ["*", ...values];
  const current = [...select.options].map((o) => o.value);
  if (current.join("\n") !== wanted.join("\n")) {
    select.replaceChildren(
      el("option", { value: "*", text: allLabel }),
      ...values.map((v) => el("option", { value: v, text: label(v) })),
    );
  }
  select.value = wanted.includes(chosen) ? chosen : "*";
  return select.value;
}

function sumBy(rows, key) {
  const sums = new Map();
  for (const row of rows) {
    const k = row[key];
    const sum = sums.get(k) ?? { ok: 0, error: 0 };
    sum.ok += row.ok;
    sum.error += row.error;
    sums.set(k, sum);
  }
  return sums;
}

function renderResults() {
  const rows = [...state.results.values()];
  const instances = [...new Set(rows.map((r) => r.instance))].sort();
  const instance = fillSelect($("results-instance"), "All instances", instances, instanceLabel);
  const inInstance = instance === "*" ? rows : rows.filter((r) => r.instance === instance);
  const filenames = [...new Set(inInstance.map((r) => r.filename))].sort();
  const filename = fillSelect($("results-filename"), "All notebooks", filenames, (f) => f);
  const chosen = filename === "*" ? inInstance : inInstance.filter((r) => r.filename === filename);

  const total = chosen.reduce((t, r) => ({ ok: t.ok + r.ok, error: t.error + r.error }), { ok: 0, error: 0 });
  const users = [...sumBy(chosen, "user")].sort((a, b) => (a[0] < b[0] ? -1 : 1));
  const cells = [...sumBy(chosen, "codenum")].sort(
    (a, b) => Number(a[0]) - Number(b[0]) || (a[0] < b[0] ? -1 : 1),
  );
  $("results-cards").replaceChildren(
    card("OK", number(total.ok), "ok"),
    card("Error", number(total.error), total.error > 0 ? "bad" : undefined),
    card("Users", number(users.length)),
    card("Code cells", number(cells.length)),
    ...(state.resultsMeta.unpaired > 0
      ? [card("Replies without request", number(state.resultsMeta.unpaired), undefined)]
      : []),
  );
  barChart("users", $("results-users-chart"), users);
  barChart("cells", $("results-cells-chart"), cells);
  $("results-users").replaceChildren(
    table(
      "OK and error counts per user",
      ["User", { label: "OK", num: true }, { label: "Error", num: true }],
      users.map(([user, c]) => [user, num(c.ok), num(c.error)]),
      "No results yet: they appear as cells run.",
    ),
  );
  $("results-cells").replaceChildren(
    table(
      "OK and error counts per codenum",
      ["Codenum", { label: "OK", num: true }, { label: "Error", num: true }],
      cells.map(([codenum, c]) => [codenum, num(c.ok), num(c.error)]),
      "No results yet: they appear as cells run.",
    ),
  );
}

/** Grouped OK / error bars, one pair per label. */
function barChart(name, container, entries) {
  state.charts[name]?.destroy();
  state.charts[name] = undefined;
  container.replaceChildren();
  container.hidden = entries.length === 0;
  if (entries.length === 0) return;
  const labels = entries.map(([label]) => label);
  const x = labels.map((_, i) => i);
  const ok = entries.map(([, c]) => c.ok);
  const error = entries.map(([, c]) => c.error);
  const text = cssVar("--text");
  const grid = cssVar("--border");
  const bars = (align) => uPlot.paths.bars({ size: [0.4, 48], align });
  const series = (label, color, align) => ({
    label,
    stroke: color,
    fill: color,
    width: 1,
    paths: bars(align),
    points: { show: false },
  });
  state.charts[name] = new uPlot(
    {
      width: Math.max(200, container.clientWidth - 12),
      height: 220,
      scales: {
        x: { time: false, range: [-0.6, labels.length - 0.4] },
        y: { range: (u, min, max) => [0, Math.max(1, max)] },
      },
      axes: [
        {
          stroke: text,
          grid: { show: false },
          ticks: { stroke: grid },
          incrs: [1, 2, 5, 10, 20, 50, 100, 200, 500],
          values: (u, splits) => splits.map((i) => (Number.isInteger(i) ? (labels[i] ?? "") : "")),
        },
        { stroke: text, grid: { stroke: grid }, ticks: { stroke: grid }, size: 44 },
      ],
      series: [
        { label: name === "users" ? "user" : "codenum", value: (u, i) => labels[i] ?? "" },
        series("OK", cssVar("--ok"), -1),
        series("Error", cssVar("--error"), 1),
      ],
    },
    [x, ok, error],
    container,
  );
}

// Delivery --------------------------------------------------------------------------------------------------------

async function loadDelivery() {
  if (state.overview && !state.overview.features.delivery) {
    state.delivery = null;
    return;
  }
  try {
    state.delivery = await api("/delivery");
  } catch (error) {
    if (error.code !== "no_delivery") throw error;
    state.delivery = null;
  }
}

function onDelivery(event) {
  const o = state.overview;
  if (o && event.kind === "dead-lettered") o.deadLetters = (o.deadLetters ?? 0) + event.count;
  // Per-origin states and dead letters are read afresh, at most twice a second, by the view that shows them.
  for (const name of ["overview", "delivery"]) reloadSoon(name);
}

/** Reads a view again after a burst of changes: now if it is shown, else when it is shown next. */
function reloadSoon(name) {
  if (state.view !== name) {
    state.loaded.delete(name);
    return;
  }
  if (state.reloads.has(name)) return;
  state.reloads.set(
    name,
    setTimeout(() => {
      state.reloads.delete(name);
      loadView(name);
    }, 500),
  );
}

function renderDelivery() {
  const d = state.delivery;
  if (!d) {
    $("delivery-cards").replaceChildren(
      el("p", {
        class: "notice",
        text: "No Moodle configured: records are not delivered (--moodle-url, --moodle-allow).",
      }),
    );
    $("delivery-origins").replaceChildren();
    $("delivery-dead").replaceChildren();
    $("replay").disabled = true;
    return;
  }
  const { spool, scheduler, deadLetters } = d.status;
  const oldest = spool.oldestCapturedAt;
  $("delivery-cards").replaceChildren(
    card("Queue depth", number(spool.depth), spool.depth > 0 ? "warn" : "ok"),
    card("Oldest record", oldest ? ago(oldest) : "none", undefined, true),
    card(
      "Spool",
      `${(spool.bytes / 1e6).toFixed(1)} of ${(spool.maxBytes / 1e6).toFixed(0)} MB${spool.full ? " (full)" : ""}`,
      spool.full ? "bad" : undefined,
      true,
    ),
    card("Calls in flight", number(scheduler.active)),
    card("Sessions waiting", number(scheduler.streams)),
    card("Dead letters", number(deadLetters), deadLetters > 0 ? "bad" : "ok"),
  );
  $("delivery-origins").replaceChildren(
    table(
      "Delivery per Moodle origin",
      [
        "Origin",
        "State",
        { label: "Attempts", num: true },
        { label: "Delivered", num: true },
        { label: "Retries", num: true },
        { label: "Dead", num: true },
        "Last success",
        "Last error",
      ],
      d.moodle.map((m) => [
        m.origin,
        originState(m),
        num(m.attempts ?? 0),
        num(m.delivered ?? 0),
        num(m.retries ?? 0),
        num(m.deadLettered ?? 0),
        time(m.lastSuccessAt),
        m.lastError ? `${m.lastError} (${time(m.lastErrorAt)})` : "",
      ]),
      "No Moodle origin.",
    ),
  );
  $("replay").disabled = deadLetters === 0;
  $("h-dead").textContent = `Dead letters (${number(d.deadLetters.total)})`;
  $("delivery-dead").replaceChildren(
    table(
      `The newest ${d.deadLetters.letters.length} of ${d.deadLetters.total} dead letters`,
      ["Dead since", "Record", "User", "Session", "Moodle", "Reason"],
      d.deadLetters.letters.map((letter) => [
        dateTime(letter.deadAt),
        letter.log.host,
        letter.log.username || "–",
        { text: letter.log.session, class: "mono" },
        letter.moodle ?? "(configured)",
        letter.errorcode ? `${letter.reason} (${letter.errorcode})` : letter.reason,
      ]),
      "No dead letters.",
    ),
  );
}

async function replay() {
  $("replay").disabled = true;
  try {
    const result = await api("/delivery/replay", { method: "POST" });
    notice(
      `Replayed ${result.replayed} records into the delivery queue${result.kept ? `; ${result.kept} stay dead` : ""}.`,
    );
    await Promise.all([loadView("delivery"), loadView("overview")]);
  } catch (error) {
    if (error.status !== 401) notice(`Replay failed: ${error.message}`);
    $("replay").disabled = false;
  }
}

// Images & volumes -----------------------------------------------------------------------------------------------

async function loadEngine() {
  const filter = state.engine.filter;
  try {
    const [images, volumes] = await Promise.all([
      api(`/images${filter === null ? "" : `?filter=${encodeURIComponent(filter)}`}`),
      api("/volumes"),
    ]);
    state.engine = { images, volumes, filter: images.filter, missing: false };
  } catch (error) {
    if (error.code !== "no_engine") throw error;
    state.engine = { images: null, volumes: null, filter: null, missing: true };
  }
}

function renderEngine() {
  const { images, volumes, missing } = state.engine;
  $("engine-missing").hidden = !missing;
  $("engine-body").hidden = Boolean(missing);
  if (!images || !volumes) return;
  const filterInput = $("images-filter");
  if (document.activeElement !== filterInput) filterInput.value = images.filter ?? "";
  $("images-table").replaceChildren(
    table(
      `Images${images.filter ? ` matching “${images.filter}”` : ""}`,
      ["Name", "ID", { label: "Size", num: true }, "Created"],
      images.images.map((i) => [
        { text: i.name, class: "mono" },
        { text: i.id.replace(/^sha256:/, "").slice(0, 12), class: "mono" },
        { text: `${(i.sizeBytes / 1e6).toFixed(1)} MB`, class: "num" },
        dateTime(i.created * 1000),
      ]),
      "No image passes the filter.",
    ),
  );
  const host = $("volume-host");
  if (!host.value && volumes.defaultHost) host.value = volumes.defaultHost;
  const groups = new Map();
  for (const volume of volumes.volumes) {
    const key = `${volume.course}\u0000${volume.host}`;
    groups.set(key, [...(groups.get(key) ?? []), volume]);
  }
  const roleOrder = { task: 0, submit: 1, personal: 2 };
  $("volumes-list").replaceChildren(
    ...(groups.size === 0 ? [el("p", { class: "empty", text: "No course volumes." })] : []),
    ...[...groups.values()].map((list) => {
      const { course, host: volumeHost } = list[0];
      list.sort((a, b) => roleOrder[a.role] - roleOrder[b.role] || (a.name < b.name ? -1 : 1));
      return el(
        "div",
        {},
        el("h4", { text: `Course ${course} on ${volumeHost}` }),
        el(
          "div",
          { class: "table-wrap" },
          table(
            `Volumes of course ${course}`,
            ["Role", "Name", "Volume", "Created", ""],
            list.map((v) => [
              v.role,
              v.shortName || "(none)",
              { text: v.name, class: "mono" },
              v.createdAt ? dateTime(Date.parse(v.createdAt)) : "–",
              el("button", {
                type: "button",
                class: "danger",
                text: "Remove",
                "aria-label": `Remove volume ${v.name}`,
                onclick: () => removeVolume(v.name),
              }),
            ]),
            "No volumes.",
          ),
        ),
      );
    }),
  );
}

async function createVolume(event) {
  event.preventDefault();
  const form = event.target;
  const body = Object.fromEntries(new FormData(form));
  try {
    const volume = await api("/volumes/create", { method: "POST", body });
    $("volume-name").value = "";
    await loadView("engine");
    notice(`Volume ${volume.name} created.`);
  } catch (error) {
    if (error.status !== 401) notice(`Cannot create the volume: ${error.message}`);
  }
}

async function removeVolume(name) {
  if (!confirm(`Remove the volume ${name} and every file in it?`)) return;
  try {
    await api("/volumes/remove", { method: "POST", body: { name } });
    await loadView("engine");
    notice(`Volume ${name} removed.`);
  } catch (error) {
    if (error.status !== 401) notice(`Cannot remove ${name}: ${error.message}`);
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Start

$("signin-form").addEventListener("submit", signIn);
$("signout").addEventListener("click", signOut);
$("routes-filter").addEventListener("input", () => markDirty("routes"));
$("results-instance").addEventListener("change", () => markDirty("results"));
$("results-filename").addEventListener("change", () => markDirty("results"));
$("replay").addEventListener("click", replay);
$("volume-form").addEventListener("submit", createVolume);
$("images-filter").form.addEventListener("submit", (event) => {
  event.preventDefault();
  state.engine.filter = $("images-filter").value.trim();
  loadView("engine");
});
window.addEventListener("hashchange", () => {
  if (!$("app").hidden) showView(viewFromHash());
});
let resizeTimer;
window.addEventListener("resize", () => {
  clearTimeout(resizeTimer);
  resizeTimer = setTimeout(() => markDirty(state.view), 150);
});
// Charts take their colours from the scheme: redraw when it changes.
matchMedia("(prefers-color-scheme: dark)").addEventListener("change", () => {
  state.charts.series?.destroy();
  state.charts.series = undefined;
  markDirty(state.view);
});

try {
  const response = await fetch("/admin/api/session", { credentials: "same-origin", cache: "no-store" });
  const session = response.ok ? await response.json() : { kind: "none" };
  if (session.kind === "none") showSignIn();
  else {
    state.csrf = session.csrfToken ?? null;
    showApp();
  }
} catch (error) {
  showSignIn(`Cannot reach the proxy: ${error.message}`);
}
