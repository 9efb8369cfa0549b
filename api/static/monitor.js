// The monitoring page: steps a lockstep session over its WebSocket and shows the line.
// Everything from the server is written as text (textContent, SVG built with createElementNS),
// never parsed as HTML; the server sends a Content-Security-Policy that forbids inline script
// and style, so this file is the only script the page runs and it loads nothing else.
//
// Data: the session WebSocket (tags, every step), GET /v1/sessions/{id}/line every 2 s (the line
// in routing order, alarms, trend), GET /v1/sessions/{id}/kpis every 2 s (409 while in warm-up).
//
// URL: /?scale=600 (simulated seconds per wall second), &session=ID (step an existing session
// instead of this identity's demo session), #token=SECRET (a token for a server with
// identities; the fragment never leaves the browser and is removed from the address bar).
// A server whose plant runs by itself (twin serve --realtime) is watched, not stepped.
"use strict";

const params = new URLSearchParams(location.search);
const scale = Math.min(Math.max(parseFloat(params.get("scale") || "600") || 600, 0.001), 1e6);
const tick = 0.25;  // wall seconds per step
const poll = 2000;  // ms between reads of the line view and the KPIs
const SVG = "http://www.w3.org/2000/svg";
// the twin's state model (twin/states.py) as the page names it; andon colours in monitor.css
const STATES = [
  ["processing", "processing"], ["setup", "setup"], ["starved", "starved (idle)"], ["blocked", "blocked"],
  ["held", "held"], ["down", "down (failure)"], ["maintenance", "maintenance"], ["break", "break"], ["off_shift", "off shift"],
];
const STATE_LABEL = new Map(STATES);
const BY_REASON = new Map([["starved", "starved"], ["blocked", "blocked"], ["held", "held"], ["failure", "down"],
  ["planned_maintenance", "maintenance"], ["break", "break"], ["off_shift", "off_shift"]]);

const tags = {};
const cards = new Map();     // station name -> {el, label, detail, counts}
const bufs = new Map();      // buffer name -> {el, meter, value}
let view = null;             // last GET .../line
let layoutKey = "";
let kpis = null;             // last GET .../kpis (null: none yet or in warm-up)
let inWarmup = false;
let sid = params.get("session");
let token = null;

function $(id) { return document.getElementById(id); }
function setStatus(text) { $("status").textContent = text; }
function text(v) { return v === null || v === undefined ? "" : String(v); }
function el(tag, cls, content) {
  const e = document.createElement(tag);
  if (cls) e.className = cls;
  if (content !== undefined) e.textContent = content;
  return e;
}

function readToken() {
  const m = /(?:^#|&)token=([^&]*)/.exec(location.hash);
  if (m) {
    token = decodeURIComponent(m[1]);
    sessionStorage.setItem("twin-token", token);
    history.replaceState(null, "", location.pathname + location.search);
  } else {
    token = sessionStorage.getItem("twin-token");
  }
}

function api(path, options = {}) {
  const headers = Object.assign({}, options.headers || {});
  if (token) headers["Authorization"] = "Bearer " + token;
  return fetch(path, Object.assign({}, options, { headers }));
}

function fmtTime(s) {
  const d = Math.floor(s / 86400), h = Math.floor(s % 86400 / 3600), m = Math.floor(s % 3600 / 60);
  return `${d} d ${String(h).padStart(2, "0")}:${String(m).padStart(2, "0")}`;
}

function fmtDur(s) {
  s = Math.max(0, s);
  if (s < 60) return `${s.toFixed(0)} s`;
  if (s < 3600) return `${Math.floor(s / 60)} min ${String(Math.floor(s % 60)).padStart(2, "0")} s`;
  return `${Math.floor(s / 3600)} h ${String(Math.floor(s % 3600 / 60)).padStart(2, "0")} min`;
}

function simNow() { return Number(tags["plant.sim_time"]) || (view ? view.sim_time : 0); }

// the state name of a station from its state tags (the same mapping as GET .../line's `state`)
function stateOf(name) {
  const item = tags[name + ".item_state"], mode = tags[name + ".operation_mode"], reason = tags[name + ".reason"];
  if (item === "Executing") return mode === "Setup" ? "setup" : mode === "Processing" ? "processing" : "unknown";
  return BY_REASON.get(reason) || "unknown";
}

// ---- the line ------------------------------------------------------------------------------------
function stationCard(name) {
  const c = { el: el("div", "st state-unknown"), title: el("b", "", name), label: el("span", "label"), detail: el("small"), counts: el("small") };
  c.el.id = "st-" + name;
  c.el.dataset.station = name;
  c.el.append(c.title, c.label, c.detail, c.counts);
  cards.set(name, c);
  return c.el;
}

function bufferBox(name) {
  const b = { el: el("div", "buf"), title: el("b", "", name), meter: document.createElement("meter"), value: el("small") };
  b.el.id = "buf-" + name;
  b.el.dataset.buffer = name;
  b.el.append(b.title, b.meter, b.value);
  bufs.set(name, b);
  return b.el;
}

function stagesNow() {
  // the server's routing order, plus any station the tags show that it does not list
  const stages = view ? view.stages.map(s => ({ kind: s.kind, names: s.names.slice() })) : [];
  const listed = new Set(stages.flatMap(s => s.names));
  const extra = [...new Set(Object.keys(tags).filter(k => k.endsWith(".execution")).map(k => k.slice(0, -10)))]
    .filter(n => !listed.has(n));
  if (extra.length) stages.push({ kind: "stations", names: extra });
  return stages;
}

function buildLine(stages) {
  const line = $("line");
  line.replaceChildren();
  cards.clear();
  bufs.clear();
  stages.forEach((s, i) => {
    if (i > 0) line.appendChild(el("span", "arrow", "\u2192"));
    const col = el("div", "stage " + (s.kind === "buffers" ? "buffers" : "stations"));
    for (const n of s.names) col.appendChild(s.kind === "buffers" ? bufferBox(n) : stationCard(n));
    line.appendChild(col);
  });
}

function renderLine() {
  const stages = stagesNow();
  const key = JSON.stringify(stages);
  if (key !== layoutKey) { buildLine(stages); layoutKey = key; }
  for (const [name, c] of cards) {
    const st = stateOf(name);
    c.el.className = "st state-" + st;
    c.el.dataset.state = st;
    c.label.textContent = STATE_LABEL.get(st) || "unknown";
    c.detail.textContent = `${text(tags[name + ".item_state"])} \u00b7 ${text(tags[name + ".operation_mode"])}${tags[name + ".reason"] ? " \u00b7 " + text(tags[name + ".reason"]) : ""}`;
    const kw = Number(tags[name + ".power_W"]) / 1000;
    const units = view && view.stations[name] ? view.stations[name].units : null;
    const busy = tags[name + ".units_busy"];
    c.counts.textContent = `parts ${text(tags[name + ".part_count_good"])} good / ${text(tags[name + ".part_count_bad"])} bad \u00b7 ${isFinite(kw) ? kw.toFixed(1) : "-"} kW` +
      (units && units > 1 ? ` \u00b7 ${text(busy)}/${units} busy` : "");
  }
  for (const [name, b] of bufs) {
    const level = Number(tags[name + ".level"]);
    const capRaw = tags[name + ".capacity"];
    const cap = capRaw === null || capRaw === undefined ? null : Number(capRaw);
    const lv = isFinite(level) ? level : 0;
    b.el.dataset.level = String(lv);
    b.el.dataset.capacity = cap === null ? "" : String(cap);
    b.meter.max = cap === null ? Math.max(lv, 1) : Math.max(cap, 1);
    b.meter.value = lv;
    b.meter.hidden = cap === null;
    b.value.textContent = cap === null ? `${lv} (unbounded)` : `${lv} / ${cap}`;
    b.el.classList.toggle("full", cap !== null && lv >= cap);
  }
}

// ---- alarms --------------------------------------------------------------------------------------
const KIND = { failure: "failure", maintenance: "maintenance", held: "hold" };

function renderAlarms() {
  const body = $("alarms").tBodies[0];
  const rows = view ? view.alarms : [];
  const now = simNow();
  body.replaceChildren();
  for (const a of rows) {
    const open = a.end === null;
    const tr = el("tr", open ? "open" : "closed");
    tr.dataset.station = a.station;
    tr.dataset.kind = a.kind;
    const dur = open ? Math.max(a.duration_s, now - a.start) : a.duration_s;
    tr.append(el("td", "", a.resource === a.station ? a.station : `${a.station} (${a.resource})`),
      el("td", "", `${KIND[a.kind] || text(a.kind)}: ${text(a.name)}`),
      el("td", "", fmtTime(a.start)),
      el("td", "dur", open ? `${fmtDur(dur)} (open)` : fmtDur(dur)));
    body.appendChild(tr);
  }
  $("no-alarms").hidden = rows.length > 0;
}

// ---- trend (inline SVG, no library) --------------------------------------------------------------
const SERIES = [
  ["throughput_per_planned_hour", "throughput", "parts/h planned", "thr", 1],
  ["oee", "OEE", "%", "oee", 100],
  ["wip_mean", "WIP", "parts", "wip", 1],
];

function svg(tag, attrs, content) {
  const e = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs || {})) e.setAttribute(k, String(v));
  if (content !== undefined) e.textContent = content;
  return e;
}

function renderTrend() {
  const box = $("trend");
  const pts = view ? view.trend : [];
  if (view) {
    $("trend-note").textContent = `last ${fmtDur(view.trend_span_s)} of sim time, each point over the ${fmtDur(view.trend_window_s)} before it; gaps: no planned time`;
  }
  const W = 600, H = 92, L = 40, R = 120, gap = 10;
  const root = svg("svg", { width: W, height: SERIES.length * (H + gap), viewBox: `0 0 ${W} ${SERIES.length * (H + gap)}`, role: "img", "aria-label": "trend" });
  root.id = "trend-svg";
  const t1 = simNow(), t0 = Math.max(0, t1 - (view ? view.trend_span_s : 8 * 3600));
  const x = t => L + (W - L - R) * (t - t0) / (t1 - t0 || 1);
  SERIES.forEach(([key, title, unit, cls, mult], i) => {
    const top = i * (H + gap);
    const g = svg("g", { class: "panel " + cls, transform: `translate(0 ${top})` });
    g.dataset.series = key;
    const vals = pts.map(p => (p[key] === null || p[key] === undefined ? null : p[key] * mult));
    const nums = vals.filter(v => v !== null);
    const hi = nums.length ? Math.max(...nums) * 1.1 || 1 : 1;
    const y = v => 6 + (H - 20) * (1 - v / hi);
    g.append(svg("line", { class: "axis", x1: L, x2: W - R, y1: H - 14, y2: H - 14 }),
      svg("line", { class: "axis", x1: L, x2: L, y1: 4, y2: H - 14 }),
      svg("text", { x: 2, y: 14 }, hi.toFixed(hi < 10 ? 1 : 0)),
      svg("text", { x: 2, y: H - 14 }, "0"),
      svg("text", { class: "title", x: W - R + 4, y: 14 }, title),
      svg("text", { x: W - R + 4, y: 28 }, unit));
    const last = nums.length ? vals[vals.length - 1] : null;
    g.appendChild(svg("text", { class: "last", x: W - R + 4, y: 46 }, last === null ? "-" : last.toFixed(1)));
    // one polyline per run of points with values (a null is a gap: no planned time / no KPI)
    let run = [];
    const flush = () => {
      if (run.length) {
        const p = svg("polyline", { class: "series " + cls, points: run.join(" ") });
        p.dataset.points = String(run.length);
        g.appendChild(p);
      }
      run = [];
    };
    pts.forEach((p, k) => {
      if (vals[k] === null || p.t < t0) { flush(); return; }
      run.push(`${x(p.t).toFixed(1)},${y(vals[k]).toFixed(1)}`);
    });
    flush();
    g.append(svg("text", { x: L, y: H - 2 }, fmtTime(t0)), svg("text", { x: W - R, y: H - 2, "text-anchor": "end" }, fmtTime(t1)));
    root.appendChild(g);
  });
  box.replaceChildren(root);
}

// ---- KPIs ----------------------------------------------------------------------------------------
function renderKpis() {
  const t = simNow();
  $("simtime").textContent = fmtTime(t);
  $("wip").textContent = text(tags["plant.wip"]);
  const line = kpis && kpis.line ? kpis.line : null;
  // throughput over planned time: good parts (line.parts_completed) / planned operation time
  // (line.POT, ISO 22400-2: the window minus off-shift time), both from GET .../kpis
  $("thr").textContent = line && line.POT > 0 ? (line.parts_completed / line.POT * 3600).toFixed(2) : "-";
  $("oee").textContent = line && typeof line.oee === "number" ? (line.oee * 100).toFixed(1) : "-";
  const note = $("warmup");
  if (inWarmup) {
    const end = view ? view.warmup : null;
    note.textContent = `Warm-up: KPIs are counted from the end of the warm-up${end !== null ? " at " + fmtTime(end) + " (sim time)" : ""}; ` +
      `the line is filling up, so throughput, OEE and the trend start then.`;
    note.hidden = false;
  } else {
    note.hidden = true;
  }
}

function render() {
  renderLine();
  renderKpis();
  renderAlarms();
}

// ---- talking to the server -----------------------------------------------------------------------
function askToken(message) {
  setStatus(message);
  $("login").hidden = false;
}

let polling = false;
async function refresh() {
  if (polling || !sid) return;
  polling = true;
  try {
    const base = `/v1/sessions/${encodeURIComponent(sid)}`;
    const lr = await api(base + "/line");
    if (lr.ok) { view = await lr.json(); renderTrend(); }
    if (view && view.in_warmup) {  // (GET .../kpis would answer 409 "still in warm-up")
      inWarmup = true;
      kpis = null;
    } else {
      const kr = await api(base + "/kpis");
      if (kr.status === 409) { inWarmup = true; kpis = null; }
      else if (kr.ok) { inWarmup = false; kpis = await kr.json(); }
    }
    render();
  } catch (e) {
    setStatus(`cannot read the line: ${text(e && e.message)}`);
  } finally {
    polling = false;
  }
}

// A plant that runs by itself (twin serve --realtime): the page watches it (reads its tags
// twice a second, the line view and KPIs like a stepped session) instead of stepping it.
function watch(info) {
  setStatus(`live: session ${sid} runs by itself at ${text(info.paced)}x`);
  const pollTags = async () => {
    const r = await api(`/v1/sessions/${encodeURIComponent(sid)}/tags`);
    if (r.ok) { Object.assign(tags, await r.json()); render(); }
    if (tags["plant.sim_time"] >= info.horizon) { setStatus("horizon reached"); return; }
    setTimeout(pollTags, 500);
  };
  pollTags();
  refresh();
  setInterval(refresh, poll);
}

async function start() {
  if (!sid) {  // the live plant, when the server runs one; else this identity's demo session
    const l = await api("/v1/sessions");
    if (l.status === 401) return askToken("this server needs a token");
    if (l.ok) {
      const live = (await l.json()).find(s => s.paced);
      if (live) sid = live.id;
    }
  }
  if (sid) {
    const i = await api(`/v1/sessions/${encodeURIComponent(sid)}`);
    if (i.ok) {
      const info = await i.json();
      if (info.paced) return watch(info);
    }
  }
  if (!sid) {
    const r = await api("/v1/sessions/demo", { method: "POST" });
    if (r.status === 401) return askToken("this server needs a token");
    if (!r.ok) {
      let detail = "";
      try { detail = (await r.json()).detail; } catch (e) { /* not JSON */ }
      return setStatus(`cannot start a session: ${r.status} ${typeof detail === "string" ? detail : ""}`);
    }
    sid = (await r.json()).id;
  }
  const ws = new WebSocket(`${location.protocol === "https:" ? "wss" : "ws"}://${location.host}/v1/sessions/${encodeURIComponent(sid)}/ws`);
  ws.onopen = () => {
    if (token) ws.send(JSON.stringify({ token }));
    setStatus(`connected: session ${sid}, ${scale}x`);
  };
  ws.onclose = ev => {
    setStatus(`disconnected${ev.reason ? ": " + ev.reason : ""}`);
    if (ev.code === 4401) askToken("the token was refused");
  };
  ws.onmessage = ev => {
    const m = JSON.parse(ev.data);
    if (m.error) { setStatus(`server: ${text(m.error)}`); return; }
    if (m.changed) { Object.assign(tags, m.changed); render(); }
    if (m.initial) refresh();
    if (m.finished) { setStatus("horizon reached"); return; }
    if (m.changed !== undefined) setTimeout(() => ws.send(JSON.stringify({ dt: scale * tick })), tick * 1000);
  };
  setInterval(refresh, poll);
}

function legend() {
  const ul = $("legend");
  for (const [key, label] of STATES) {
    const li = el("li", "state-" + key, label);
    li.dataset.state = key;
    ul.appendChild(li);
  }
}

document.addEventListener("DOMContentLoaded", () => {
  legend();
  readToken();
  $("login").addEventListener("submit", ev => {
    ev.preventDefault();
    token = $("token").value.trim();
    sessionStorage.setItem("twin-token", token);
    $("login").hidden = true;
    start();
  });
  start();
});
