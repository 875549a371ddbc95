// The streamfleet console: a client of the public API, nothing more. It
// writes every value as text (never as HTML), keeps the admin token in this
// tab's sessionStorage, and refreshes what it shows every few seconds.
"use strict";

const TOKEN_KEY = "streamfleet.adminToken";
const REFRESH_MS = 3000;
const CHART_MINUTES = 180;

const $ = (id) => document.getElementById(id);
let refreshTimer = null;
let generation = 0; // the newest refresh; an older one still in flight stops quietly
let current = null; // the group shown, as last read

// --- the API --------------------------------------------------------------

class ApiError extends Error {
  constructor(status, body) {
    super((body && body.message) || `HTTP ${status}`);
    this.status = status;
    this.body = body;
  }
}

async function api(method, path, body, contentType) {
  const headers = { Authorization: `Bearer ${sessionStorage.getItem(TOKEN_KEY) || ""}` };
  if (body !== undefined) headers["Content-Type"] = contentType || "application/json";
  const response = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  const text = await response.text();
  const json = text ? JSON.parse(text) : null;
  if (response.status === 401 || response.status === 403) {
    signOut("The token was refused: sign in again.");
    throw new ApiError(response.status, json);
  }
  if (!response.ok) throw new ApiError(response.status, json);
  return json;
}

const enc = encodeURIComponent;

// --- small DOM helpers ------------------------------------------------------

function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (key === "class") node.className = value;
    else if (key.startsWith("data-")) node.setAttribute(key, value);
    else if (key === "onclick") node.addEventListener("click", value);
    else node[key] = value;
  }
  for (const child of children) {
    if (child === null || child === undefined) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

function show(section) {
  for (const id of ["signin", "groups", "group"]) $(id).hidden = id !== section;
  $("signout").hidden = section === "signin";
}

function say(text, isError) {
  const message = $("message");
  message.textContent = text;
  message.className = isError ? "error" : "";
  message.hidden = !text;
}

function when(iso) {
  if (!iso) return "never";
  const date = new Date(iso);
  return date.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit", second: "2-digit" });
}

// --- signing in and out -------------------------------------------------------

function signOut(why) {
  sessionStorage.removeItem(TOKEN_KEY);
  clearTimeout(refreshTimer);
  show("signin");
  $("signin-error").textContent = why || "";
  $("signin-error").hidden = !why;
  $("token").value = "";
}

async function signIn(event) {
  event.preventDefault();
  sessionStorage.setItem(TOKEN_KEY, $("token").value.trim());
  try {
    await api("GET", "/v1/nodegroups?limit=1");
    $("signin-error").hidden = true;
    route();
  } catch (error) {
    if (!(error instanceof ApiError && (error.status === 401 || error.status === 403))) {
      signOut(`The API could not be reached: ${error.message}`);
    }
  }
}

// --- the pages ------------------------------------------------------------------

function healthBadge(health) {
  const status = (health && health.status) || "unknown";
  return el("span", { class: `badge ${status}`, title: (health && health.reason) || "" }, status);
}

/** Every item of a listing, page after page. */
async function allPages(path) {
  let items = [];
  let cursor = null;
  do {
    const page = await api("GET", `${path}${cursor ? `&cursor=${enc(cursor)}` : ""}`);
    items = items.concat(page.items);
    cursor = page.nextCursor;
  } while (cursor);
  return items;
}

async function renderGroups() {
  $("where").textContent = "";
  const items = await allPages("/v1/nodegroups?limit=100");
  const rows = items.map((g) =>
    el("tr", { "data-group": g.name },
      el("td", {}, el("a", { href: `#/groups/${enc(g.name)}`, class: "group-link" }, g.name)),
      el("td", {}, g.cloud),
      el("td", {}, g.status),
      el("td", {}, healthBadge(g.health)),
      el("td", {}, g.scalingPaused ? "paused" : "on"),
      el("td", {}, g.nodeCount)));
  $("group-rows").replaceChildren(...rows);
  $("no-groups").hidden = items.length > 0;
  show("groups");
}

function capacityOf(group, node) {
  const role = group.roles[node.role];
  const ofRole = role ? role.launch.connectionCapacity : 0;
  return node.load && node.load.capacity ? Math.min(node.load.capacity, ofRole) : ofRole;
}

function sessionsOf(node) {
  const load = node.load || {};
  return (load.publishers || 0) + (load.subscribers || 0);
}

function nodeRow(group, node) {
  const capacity = capacityOf(group, node);
  const sessions = sessionsOf(node);
  const pct = capacity ? Math.min(100, Math.round((sessions * 100) / capacity)) : 0;
  const bar = el("span", { class: `load-bar${pct >= 100 ? " full" : ""}` });
  bar.style.width = `${pct}%`;
  const act = (verb, label, danger) =>
    el("button", { type: "button", class: `${verb}${danger ? " danger" : ""}`, onclick: () => nodeAction(node, verb) }, label);
  const buttons = [];
  if (node.cordoned) buttons.push(act("uncordon", "Uncordon"));
  else buttons.push(act("cordon", "Cordon"));
  if (node.state === "inService") buttons.push(act("drain", "Drain", true));
  return el("tr", { "data-node": node.nodeId },
    el("td", {}, node.nodeId),
    el("td", { class: "state" }, node.state + (node.cordoned ? " · cordoned" : "") + (node.hold ? ` · held (${node.hold.kind})` : "")),
    el("td", {}, el("span", { class: "load", title: `${sessions} of ${capacity}` }, bar), ` ${sessions}/${capacity}`),
    el("td", { class: "streams" }, (node.streams || []).join(" ")),
    el("td", {}, node.host || ""),
    el("td", {}, ...buttons));
}

function renderNodes(group, nodes) {
  const slots = new Map();
  for (const node of nodes) {
    const key = `${node.role} in ${node.region}`;
    if (!slots.has(key)) slots.set(key, []);
    slots.get(key).push(node);
  }
  const sections = [...slots.keys()].sort().map((key) => {
    const here = slots.get(key);
    const serving = here.filter((n) => n.state === "inService" && !n.cordoned).length;
    return el("div", { class: "slot" },
      el("h3", {}, `${key}: ${here.length} node(s), ${serving} serving`),
      el("table", {},
        el("thead", {}, el("tr", {}, ...["Node", "State", "Load", "Streams", "Host", ""].map((h) => el("th", {}, h)))),
        el("tbody", {}, ...here.map((n) => nodeRow(group, n)))));
  });
  $("nodes").replaceChildren(...(sections.length ? sections : [el("p", { class: "muted" }, "No node yet.")]));
}

function renderDecisions(items) {
  const rows = items.map((d) => {
    const action = d.action || {};
    const where = [d.role, d.region].filter(Boolean).join(" in ");
    const detail = [action.node, action.count !== undefined ? `×${action.count}` : null, where].filter(Boolean).join(" · ");
    return el("li", { class: "decision", "data-type": action.type || "" },
      el("span", { class: "at" }, when(d.at)),
      d.by === "operator" ? el("span", { class: "by" }, "operator") : null,
      el("span", { class: "type" }, action.type),
      el("span", {}, detail),
      d.outcome && d.outcome !== "done"
        ? el("span", { class: d.outcome.startsWith("done") ? "muted" : "error" }, ` (${d.outcome})`)
        : null,
      el("span", { class: "reason" }, d.reason));
  });
  $("decisions").replaceChildren(...(rows.length ? rows : [el("li", { class: "muted" }, "No decision yet.")]));
}

function renderHealth(group) {
  const health = group.health || {};
  $("health").replaceWith(Object.assign(healthBadge(health), { id: "health" }));
  $("health-reason").textContent = health.reason ||
    (health.lastTickAt ? `The scaler last ticked at ${when(health.lastTickAt)}.` : "The scaler has not ticked this group yet.");
  const errors = health.errors || [];
  $("errors").hidden = errors.length === 0;
  $("error-rows").replaceChildren(...errors.map((e) =>
    el("tr", {}, el("td", {}, e.role), el("td", {}, e.region), el("td", {}, e.operation || ""),
      el("td", { title: e.message }, e.code), el("td", {}, when(e.since)), el("td", {}, e.ticks))));
  $("paused").hidden = !group.scalingPaused;
  $("pause-button").textContent = group.scalingPaused ? "Resume scaling" : "Pause scaling";
}

function fillLaunchForm(group) {
  const keep = (select, values) => {
    const chosen = select.value;
    select.replaceChildren(...values.map((v) => el("option", { value: v }, v)));
    if (values.includes(chosen)) select.value = chosen;
  };
  keep($("launch-role"), Object.keys(group.roles));
  keep($("launch-region"), group.regions.map((r) => r.region));
}

async function renderGroup(name) {
  $("where").textContent = `/ ${name}`;
  const [group, nodes, decisions] = await Promise.all([
    api("GET", `/v1/nodegroups/${enc(name)}`),
    allPages(`/v1/nodegroups/${enc(name)}/nodes?limit=100`),
    api("GET", `/v1/nodegroups/${enc(name)}/events?limit=50`),
  ]);
  current = group;
  $("group-name").textContent = group.name;
  renderHealth(group);
  fillLaunchForm(group);
  renderNodes(group, nodes);
  renderDecisions(decisions.items);
  show("group");
  renderChart(name).catch(() => {});
}

// --- the capacity chart ----------------------------------------------------------

async function renderChart(name) {
  const series = await api("GET", `/v1/nodegroups/${enc(name)}/series?minutes=${CHART_MINUTES}`);
  const points = series.items || [];
  // One chart per role (an origin's seats are not an edge's), summed over
  // regions, per tick.
  const roles = [...new Set(points.map((p) => p.role))].sort();
  const charts = roles.map((role) => roleChart(role, points.filter((p) => p.role === role))).filter(Boolean);
  if (!charts.length) {
    $("chart").replaceChildren(el("p", { class: "muted" }, "Not enough ticks yet for a chart."));
    return;
  }
  const legend = el("div", { class: "legend" },
    el("span", { class: "capacity" }, "— capacity (seats on serving nodes)"),
    el("span", { class: "demand" }, "— demand (sessions and viewers waiting)"));
  $("chart").replaceChildren(...charts, legend);
}

function roleChart(role, points) {
  const byTick = new Map();
  for (const p of points) {
    const at = Date.parse(p.at);
    const sum = byTick.get(at) || { capacity: 0, demand: 0 };
    sum.capacity += p.capacity;
    sum.demand += p.demand;
    byTick.set(at, sum);
  }
  const ticks = [...byTick.entries()].sort((a, b) => a[0] - b[0]);
  if (ticks.length < 2) return null;
  const [t0, t1] = [ticks[0][0], ticks[ticks.length - 1][0]];
  const top = Math.max(1, ...ticks.map(([, s]) => Math.max(s.capacity, s.demand)));
  const [w, h] = [1000, 160];
  const x = (t) => ((t - t0) / Math.max(1, t1 - t0)) * (w - 50) + 45;
  const y = (v) => h - 20 - (v / top) * (h - 30);
  const line = (key) => ticks.map(([t, s]) => `${x(t).toFixed(1)},${y(s[key]).toFixed(1)}`).join(" ");
  const svg = document.createElementNS("http://www.w3.org/2000/svg", "svg");
  svg.setAttribute("viewBox", `0 0 ${w} ${h}`);
  svg.setAttribute("preserveAspectRatio", "none");
  const add = (tag, attrs, text) => {
    const node = document.createElementNS("http://www.w3.org/2000/svg", tag);
    for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, v);
    if (text !== undefined) node.textContent = text;
    svg.append(node);
  };
  add("line", { class: "axis", x1: 45, y1: y(0), x2: w, y2: y(0) });
  add("text", { x: 0, y: y(top) + 4 }, String(top));
  add("text", { x: 0, y: y(0) + 4 }, "0");
  add("text", { x: 45, y: h - 4 }, when(new Date(t0).toISOString()));
  add("text", { x: w, y: h - 4, "text-anchor": "end" }, when(new Date(t1).toISOString()));
  add("polyline", { class: "capacity", points: line("capacity") });
  add("polyline", { class: "demand", points: line("demand") });
  return el("div", { class: "role-chart", "data-role": role }, el("h3", {}, `${role}s`), svg);
}

// --- actions ------------------------------------------------------------------------

async function act(what, run) {
  try {
    await run();
    say(what);
    await refresh();
  } catch (error) {
    say(`${error.message}${error.body && error.body.field ? ` (${error.body.field})` : ""}`, true);
  }
}

function nodeAction(node, verb) {
  return act(`${verb}: ${node.nodeId}`, () =>
    api("POST", `/v1/nodegroups/${enc(current.name)}/nodes/${enc(node.nodeId)}/${verb}`));
}

function togglePause() {
  const paused = !current.scalingPaused;
  return act(paused ? "Scaling paused" : "Scaling resumed", () =>
    api("PATCH", `/v1/nodegroups/${enc(current.name)}`, { scalingPaused: paused }, "application/merge-patch+json"));
}

function launch(event) {
  event.preventDefault();
  const ask = { role: $("launch-role").value, region: $("launch-region").value, count: Number($("launch-count").value) };
  return act(`Asked for ${ask.count} ${ask.role} node(s) in ${ask.region}: the next tick launches them`, () =>
    api("POST", `/v1/nodegroups/${enc(current.name)}/launches`, ask));
}

// --- routing and refresh ------------------------------------------------------------

async function refresh() {
  clearTimeout(refreshTimer);
  const mine = ++generation;
  if (!sessionStorage.getItem(TOKEN_KEY)) return signOut();
  const match = location.hash.match(/^#\/groups\/([^/]+)$/);
  try {
    if (match) await renderGroup(decodeURIComponent(match[1]));
    else await renderGroups();
    if (mine !== generation) return; // a newer refresh owns the timer
    $("refreshed").textContent = `updated ${when(new Date().toISOString())}`;
  } catch (error) {
    if (error instanceof ApiError && error.status === 404 && match) {
      say(`No group ${decodeURIComponent(match[1])}`, true);
      location.hash = "#/";
      return;
    }
    if (!(error instanceof ApiError && (error.status === 401 || error.status === 403))) {
      say(`Refresh failed: ${error.message}`, true);
    }
  }
  if (mine === generation && sessionStorage.getItem(TOKEN_KEY)) refreshTimer = setTimeout(refresh, REFRESH_MS);
}

function route() {
  say("");
  refresh();
}

document.addEventListener("DOMContentLoaded", () => {
  $("signin-form").addEventListener("submit", signIn);
  $("signout").addEventListener("click", () => signOut());
  $("pause-button").addEventListener("click", togglePause);
  $("launch-form").addEventListener("submit", launch);
  window.addEventListener("hashchange", route);
  document.addEventListener("visibilitychange", () => { if (!document.hidden) refresh(); });
  if (sessionStorage.getItem(TOKEN_KEY)) route();
  else signOut();
});
