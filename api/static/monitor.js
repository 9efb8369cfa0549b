// The monitoring page: steps a lockstep session over its WebSocket and shows the line.
// Everything from the server is written as text (textContent), never parsed as HTML; the
// server sends a Content-Security-Policy that forbids inline script, so this file is the only
// script the page runs.
//
// URL: /?scale=600 (simulated seconds per wall second), &session=ID (step an existing session
// instead of this identity's demo session), #token=SECRET (a token for a server with
// identities; the fragment never leaves the browser and is removed from the address bar).
// A server whose plant runs by itself (twin serve --realtime) is watched, not stepped.
"use strict";

const params = new URLSearchParams(location.search);
const scale = Math.min(Math.max(parseFloat(params.get("scale") || "600") || 600, 0.001), 1e6);
const tick = 0.25;  // wall seconds per step
const tags = {};
const cards = new Map();
let sid = params.get("session");
let oee = null;
let token = null;

function $(id) { return document.getElementById(id); }
function setStatus(text) { $("status").textContent = text; }

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

function text(v) { return v === null || v === undefined ? "" : String(v); }

function card(name) {
  let c = cards.get(name);
  if (c) return c;
  const el = document.createElement("div");
  el.id = "st-" + name;
  const title = document.createElement("b");
  title.textContent = name;
  const state = document.createElement("small");
  const body = document.createElement("div");
  el.append(title, state, body);
  $("line").appendChild(el);
  c = { el, state, body };
  cards.set(name, c);
  return c;
}

const EXECUTION = new Set(["ACTIVE", "WAIT", "FEED_HOLD", "INTERRUPTED", "STOPPED"]);

function render() {
  const stations = [...new Set(Object.keys(tags).filter(k => k.endsWith(".execution")).map(k => k.slice(0, -10)))];
  for (const s of stations) {
    const c = card(s);
    const ex = text(tags[s + ".execution"]);
    c.el.className = "st" + (EXECUTION.has(ex) ? " " + ex : "");
    c.state.textContent = `${text(tags[s + ".item_state"])} ${text(tags[s + ".reason"])}`;
    const kw = Number(tags[s + ".power_W"]) / 1000;
    c.body.textContent = `${ex} · parts ${text(tags[s + ".part_count_good"])} good / ${text(tags[s + ".part_count_bad"])} bad · ${isFinite(kw) ? kw.toFixed(1) : "-"} kW`;
  }
  const t = Number(tags["plant.sim_time"]) || 0;
  $("simtime").textContent = fmtTime(t);
  $("thr").textContent = t > 0 ? (Number(tags["plant.parts_completed"]) / (t / 3600)).toFixed(2) : "-";
  $("wip").textContent = text(tags["plant.wip"]);
  $("oee").textContent = typeof oee === "number" ? oee.toFixed(3) : "-";
}

function askToken(message) {
  setStatus(message);
  $("login").hidden = false;
}

async function kpiLoop() {
  setInterval(async () => {
    const r = await api(`/v1/sessions/${encodeURIComponent(sid)}/kpis`);
    if (r.ok) {
      const k = await r.json();
      oee = k && k.line ? k.line.oee : null;
      render();
    }
  }, 2000);
}

// A plant that runs by itself (twin serve --realtime): the page watches it (reads its tags
// twice a second) instead of stepping it.
function watch(info) {
  setStatus(`live: session ${sid} runs by itself at ${text(info.paced)}x`);
  const poll = async () => {
    const r = await api(`/v1/sessions/${encodeURIComponent(sid)}/tags`);
    if (r.ok) { Object.assign(tags, await r.json()); render(); }
    if (tags["plant.sim_time"] >= info.horizon) { setStatus("horizon reached"); return; }
    setTimeout(poll, 500);
  };
  poll();
  kpiLoop();
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
    if (m.finished) { setStatus("horizon reached"); return; }
    if (m.changed !== undefined) setTimeout(() => ws.send(JSON.stringify({ dt: scale * tick })), tick * 1000);
  };
  kpiLoop();
}

document.addEventListener("DOMContentLoaded", () => {
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
