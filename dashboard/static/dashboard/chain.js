// The live option chain: one WebSocket (dashboard/consumers.py) carries a snapshot,
// then diffs of full rows; every message is acknowledged once applied, which is the
// server's flow control. Cells carry data-symbol and data-field (store field names)
// and data-value (the raw store value) for tests and users' own scripts.
//
// Flags for tests and scripts: window.chainReady (first snapshot rendered),
// window.lastUpdateTs (Date.now() of the last applied message), window.wsConnected,
// window.chartsDrawn, window.chainStats; window.chainFormat(field, raw, symbol) is the
// cell formatter. window.chainView lets timeslider.js show a past chain in the table
// (live messages wait meanwhile) and set the tick sizes.
(function () {
  "use strict";

  const COLUMNS = [
    ["oi", "OI"], ["delta", "Δ"], ["bid_size", "Bid sz"], ["bid", "Bid"],
    ["bid_iv", "Bid IV"], ["mark", "Mark"], ["mark_iv", "Mark IV"], ["ask", "Ask"],
    ["ask_iv", "Ask IV"], ["ask_size", "Ask sz"], ["last", "Last"],
    ["volume_24h", "Vol 24h"],
  ];
  const IV_FIELDS = new Set(["bid_iv", "ask_iv", "mark_iv"]);
  const PRICE_FIELDS = new Set(["bid", "ask", "mark", "last"]);
  const DASH_WHEN_ZERO = new Set(["bid", "ask", "bid_size", "ask_size", "bid_iv", "ask_iv"]);
  const SIGNED = new Set(["delta", "gamma", "vega", "theta", "change_24h"]);
  const STALE_AFTER_MS = 5000;
  const CHART_EVERY_MS = 500;
  const CLOSE_LOGIN = 4403;
  const CLOSE_UNKNOWN = 4404;
  const CLOSE_TOO_MANY = 4429; // too many sockets from this address (dashboard/guards.py)

  const app = document.getElementById("chain-app");
  const tbody = document.querySelector("#chain tbody");
  const connBadge = document.getElementById("conn");
  const staleBadge = document.getElementById("stale");
  const feedInfo = document.getElementById("feed");
  const around = document.getElementById("around");
  const minStrike = document.getElementById("min-strike");
  const maxStrike = document.getElementById("max-strike");

  const state = {
    rows: {}, // symbol -> latest row
    cells: {}, // symbol -> {field: td}
    strikes: [], // [{strike, tr, C: symbol, P: symbol}] by strike
    underlying: null,
    atmIndex: -1,
    scrolled: false,
    chartsDirty: false,
    lastMessageAt: 0,
    status: null,
    decimals: {}, // symbol -> decimals of its tick size (format.js)
    past: false, // a past chain is shown: live messages are acknowledged, not applied
  };
  window.chainReady = false;
  window.chartsDrawn = false;
  window.wsConnected = false;
  window.lastUpdateTs = 0;
  window.chainStats = { snapshots: 0, diffs: 0, reconnects: 0 };

  // Formatting -------------------------------------------------------------------

  // The number a value stands for, or null: the server sends only valid values
  // (options/fields.py), and a value that is not a finite number of its field's
  // sign shows blank rather than "NaN" or "Infinity%".
  function numeric(field, raw) {
    if (typeof raw === "number") raw = String(raw);
    if (typeof raw !== "string" || !/^-?[0-9]+(\.[0-9]+)?([eE][-+]?[0-9]+)?$/.test(raw)) return null;
    const n = Number(raw);
    if (!Number.isFinite(n) || (n < 0 && !SIGNED.has(field))) return null;
    return n;
  }

  function format(field, raw, symbol) {
    const n = numeric(field, raw);
    if (n === null) return "";
    if (DASH_WHEN_ZERO.has(field) && n === 0) return "–";
    if (IV_FIELDS.has(field)) return (n * 100).toFixed(1) + "%";
    if (field === "delta") return n.toFixed(3);
    if (PRICE_FIELDS.has(field)) return window.otFormat.price(raw, state.decimals[symbol]);
    return raw; // sizes as the exchange wrote them
  }
  window.chainFormat = format;

  // Table ------------------------------------------------------------------------

  function buildHeader() {
    const tr = document.getElementById("columns");
    const cells = [];
    for (const [field, label] of COLUMNS) cells.push(`<th class="c col-${field}">${label}</th>`);
    cells.push('<th class="strike">Strike</th>');
    for (const [field, label] of COLUMNS) cells.push(`<th class="p col-${field}">${label}</th>`);
    tr.innerHTML = cells.join("");
    fitSideHeaders();
    window.addEventListener("resize", fitSideHeaders);
  }

  // "Calls" and "Puts" span the columns the screen shows (a phone hides some).
  function fitSideHeaders() {
    const shown = [...document.querySelectorAll("#columns th.c")].filter(
      (th) => getComputedStyle(th).display !== "none").length;
    for (const th of document.querySelectorAll("tr.sides th.c, tr.sides th.p")) {
      th.colSpan = shown || 1;
    }
  }

  function sideCells(tr, symbol, sideClass) {
    const cells = {};
    for (const [field] of COLUMNS) {
      const td = document.createElement("td");
      td.className = `${sideClass} col-${field}`;
      if (symbol) {
        td.dataset.symbol = symbol;
        td.dataset.field = field;
        cells[field] = td;
      }
      tr.appendChild(td);
    }
    if (symbol) state.cells[symbol] = cells;
  }

  function buildTable(contracts) {
    const byStrike = new Map();
    for (const [symbol, strike, side] of contracts) {
      const key = Number(strike);
      if (!byStrike.has(key)) byStrike.set(key, { strike: key });
      byStrike.get(key)[side === "P" ? "P" : "C"] = symbol;
    }
    state.strikes = [...byStrike.values()].sort((a, b) => a.strike - b.strike);
    state.cells = {};
    state.rows = {};
    const fragment = document.createDocumentFragment();
    for (const entry of state.strikes) {
      const tr = document.createElement("tr");
      tr.dataset.strike = entry.strike;
      sideCells(tr, entry.C, "c");
      const th = document.createElement("th");
      th.className = "strike";
      th.scope = "row";
      th.textContent = entry.strike;
      tr.appendChild(th);
      sideCells(tr, entry.P, "p");
      entry.tr = tr;
      fragment.appendChild(tr);
    }
    tbody.replaceChildren(fragment);
    state.atmIndex = -1;
    document.getElementById("empty").hidden = state.strikes.length > 0;
  }

  function applyRow(symbol, row, flash) {
    const cells = state.cells[symbol];
    if (!cells) return;
    const old = state.rows[symbol] || {};
    // A row older than what is shown (a diff that overtook a snapshot) is dropped.
    if (old.ts && row.ts && Number(row.ts) < Number(old.ts)) return;
    for (const [field] of COLUMNS) {
      const value = row[field];
      if (value === undefined || value === old[field]) continue;
      const td = cells[field];
      td.textContent = format(field, value, symbol);
      td.dataset.value = value ?? "";
      const now = numeric(field, value), before = numeric(field, old[field]);
      if (flash && now !== null && before !== null) flashCell(td, now - before);
    }
    state.rows[symbol] = row;
    const underlying = numeric("underlying", row.underlying);
    if (underlying > 0) state.underlying = underlying;
  }

  // A changed cell is tinted up or down for FLASH_MS, then cleared by one sweep for
  // the whole page. No animation: a fading background on the hundreds of cells a busy
  // chain changes every second cost the page half a core in style and paint.
  const FLASH_MS = 600;
  const flashed = new Map(); // td -> when it was tinted, oldest first

  function flashCell(td, change) {
    const [on, off] = change < 0 ? ["flash-down", "flash-up"] : ["flash-up", "flash-down"];
    if (!td.classList.contains(on)) {
      td.classList.remove(off);
      td.classList.add(on);
    }
    flashed.delete(td);
    flashed.set(td, performance.now());
  }

  setInterval(() => {
    const cutoff = performance.now() - FLASH_MS;
    for (const [td, at] of flashed) {
      if (at > cutoff) break;
      td.classList.remove("flash-up", "flash-down");
      flashed.delete(td);
    }
  }, 150);

  // At the money, in the money, and the strike filter -------------------------------

  function updateMoneyness() {
    const u = state.underlying;
    if (u === null || !state.strikes.length) return;
    document.getElementById("underlying").textContent = u;
    let atm = 0;
    state.strikes.forEach((entry, i) => {
      if (Math.abs(entry.strike - u) < Math.abs(state.strikes[atm].strike - u)) atm = i;
      entry.tr.classList.toggle("call-itm", entry.strike < u);
      entry.tr.classList.toggle("put-itm", entry.strike > u);
    });
    if (atm !== state.atmIndex) {
      if (state.atmIndex >= 0 && state.strikes[state.atmIndex]) {
        state.strikes[state.atmIndex].tr.classList.remove("atm");
      }
      state.strikes[atm].tr.classList.add("atm");
      state.atmIndex = atm;
      applyFilter();
    }
    if (!state.scrolled) {
      state.scrolled = true;
      scrollToRow(state.strikes[atm].tr);
    }
  }

  // Centre a row in the chain's own scroll box (the page itself stays put); on a
  // phone the box does not scroll, so the page does.
  function scrollToRow(tr) {
    const wrap = tr.closest(".chain-wrap");
    if (wrap && wrap.scrollHeight > wrap.clientHeight) {
      wrap.scrollTop = tr.offsetTop - wrap.clientHeight / 2;
    } else {
      tr.scrollIntoView({ block: "center" });
    }
  }

  function applyFilter() {
    const width = Number(around.value);
    const lo = minStrike.value === "" ? -Infinity : Number(minStrike.value);
    const hi = maxStrike.value === "" ? Infinity : Number(maxStrike.value);
    state.strikes.forEach((entry, i) => {
      const near = !width || state.atmIndex < 0 || Math.abs(i - state.atmIndex) <= width;
      entry.tr.hidden = !(near && entry.strike >= lo && entry.strike <= hi);
    });
  }
  for (const input of [around, minStrike, maxStrike]) input.addEventListener("input", applyFilter);

  // Charts (uPlot, from npm: see package.json) ---------------------------------------

  const charts = { smile: null, oi: null };

  function chartWidth(el) {
    return Math.max(280, el.clientWidth || 400);
  }

  function makeCharts() {
    if (!window.uPlot) return false; // the table works without them
    const smileEl = document.getElementById("smile");
    const oiEl = document.getElementById("oi");
    const line = (label, stroke, dash) => ({
      label, stroke, width: 1.5, dash, spanGaps: true, points: { show: false },
      value: (u, v) => (v === null || v === undefined ? "–" : v.toFixed(1) + "%"),
    });
    charts.smile = new uPlot({
      width: chartWidth(smileEl), height: 240, legend: { live: false },
      scales: { x: { time: false } },
      axes: [{ stroke: "#9aa4b2" }, { stroke: "#9aa4b2", values: (u, t) => t.map((v) => v + "%") }],
      series: [
        { label: "strike" },
        line("call bid", "#2e9d5b", [4, 3]), line("call mark", "#3ddc84"), line("call ask", "#1b6e3f", [1, 3]),
        line("put bid", "#c0453a", [4, 3]), line("put mark", "#ff6b5e"), line("put ask", "#8e2f27", [1, 3]),
      ],
    }, [[], [], [], [], [], [], []], smileEl);
    const bars = uPlot.paths.bars;
    // Half a strike step either side, so that the outer bars are drawn whole.
    const padded = (u, min, max) => {
      const xs = u.data[0];
      const step = xs.length > 1 ? (xs[xs.length - 1] - xs[0]) / (xs.length - 1) : 1;
      return [min - step / 2, max + step / 2];
    };
    charts.oi = new uPlot({
      width: chartWidth(oiEl), height: 200, legend: { live: false },
      scales: { x: { time: false, range: padded } },
      axes: [{ stroke: "#9aa4b2" }, { stroke: "#9aa4b2" }],
      series: [
        { label: "strike" },
        { label: "call OI", stroke: "#3ddc84", fill: "rgba(61,220,132,0.5)", paths: bars && bars({ size: [0.45, 40], align: -1 }), points: { show: false } },
        { label: "put OI", stroke: "#ff6b5e", fill: "rgba(255,107,94,0.5)", paths: bars && bars({ size: [0.45, 40], align: 1 }), points: { show: false } },
      ],
    }, [[], [], []], oiEl);
    window.addEventListener("resize", () => {
      charts.smile.setSize({ width: chartWidth(smileEl), height: 240 });
      charts.oi.setSize({ width: chartWidth(oiEl), height: 200 });
    });
    return true;
  }

  function number(symbol, field, scale) {
    const row = symbol && state.rows[symbol];
    const v = row ? numeric(field, row[field]) : null;
    if (v === null) return null;
    if (IV_FIELDS.has(field) && v === 0) return null; // no quote, not 0 % IV
    return v * scale;
  }

  function drawCharts() {
    if (!state.chartsDirty || (!charts.smile && !makeCharts())) return;
    state.chartsDirty = false;
    const xs = state.strikes.map((e) => e.strike);
    const iv = (side, field) => state.strikes.map((e) => number(e[side], field, 100));
    charts.smile.setData([
      xs, iv("C", "bid_iv"), iv("C", "mark_iv"), iv("C", "ask_iv"),
      iv("P", "bid_iv"), iv("P", "mark_iv"), iv("P", "ask_iv"),
    ]);
    charts.oi.setData([
      xs, state.strikes.map((e) => number(e.C, "oi", 1)), state.strikes.map((e) => number(e.P, "oi", 1)),
    ]);
    window.chartsDrawn = true;
  }
  setInterval(drawCharts, CHART_EVERY_MS);

  // Badges -------------------------------------------------------------------------

  function setConnection(text, cls) {
    connBadge.textContent = text;
    connBadge.className = `badge ${cls}`;
    connBadge.dataset.state = cls;
  }

  function updateStale() {
    const s = state.status;
    let reason = "";
    if (window.wsConnected && state.lastMessageAt && Date.now() - state.lastMessageAt > STALE_AFTER_MS) {
      reason = "no data";
    } else if (s && s.stale) {
      reason = s.age_ms === null ? `feed ${s.state}` : `feed heartbeat ${Math.round(s.age_ms / 1000)} s ago`;
    }
    staleBadge.hidden = !reason;
    staleBadge.textContent = reason ? `stale: ${reason}` : "";
    if (s && s.shards && s.shards.length) {
      feedInfo.textContent = s.shards.map((p) => `${p.shard}: ${p.state} · ${p.msgs_per_s} msg/s`).join(" | ");
    } else if (s) {
      feedInfo.textContent = `${s.state} · ${s.msgs_per_s} msg/s`;
    }
  }
  setInterval(updateStale, 1000);

  // Messages -----------------------------------------------------------------------

  function handle(message) {
    if (state.past && !message.past) {
      if (message.status) state.status = message.status;
      state.lastMessageAt = Date.now();
      return;
    }
    if (message.type === "snapshot") {
      buildTable(message.contracts);
      for (const [symbol, row] of Object.entries(message.rows)) applyRow(symbol, row, false);
      window.chainStats.snapshots += 1;
    } else if (message.type === "diff") {
      for (const [symbol, row] of Object.entries(message.rows)) applyRow(symbol, row, true);
      window.chainStats.diffs += 1;
    } else {
      return;
    }
    if (message.status) state.status = message.status;
    updateMoneyness();
    updateStale();
    state.chartsDirty = true;
    state.lastMessageAt = Date.now();
    window.lastUpdateTs = state.lastMessageAt;
    // Other scripts of the page (analytics.js) read the messages too.
    window.dispatchEvent(new CustomEvent("chain:message", { detail: message }));
    if (message.type === "snapshot") {
      drawCharts();
      window.chainReady = true;
    }
  }

  // Connection with backoff ----------------------------------------------------------

  let failures = 0;
  let socket = null;

  function connect() {
    const scheme = location.protocol === "https:" ? "wss:" : "ws:";
    const ws = (socket = new WebSocket(`${scheme}//${location.host}${app.dataset.wsPath}`));
    setConnection(failures ? "reconnecting" : "connecting", "pending");
    ws.onmessage = (event) => {
      const message = JSON.parse(event.data);
      handle(message);
      ws.send(JSON.stringify({ type: "ack", seq: message.seq }));
      if (message.type === "snapshot") {
        failures = 0;
        window.wsConnected = true;
        setConnection("live", "good");
      }
    };
    ws.onclose = (event) => {
      window.wsConnected = false;
      if (event.code === CLOSE_LOGIN) return setConnection("log in to see this chain", "bad");
      if (event.code === CLOSE_UNKNOWN) return setConnection("no such chain", "bad");
      const busy = event.code === CLOSE_TOO_MANY ? "too many pages open from here · " : "";
      // 0.5 s doubling to 8 s, with jitter so that a restarted server is not stormed.
      const delay = Math.min(8000, 500 * 2 ** failures) * (0.75 + Math.random() / 2);
      failures += 1;
      window.chainStats.reconnects += 1;
      setConnection(`${busy}disconnected · retry in ${Math.ceil(delay / 1000)} s`, "bad");
      setTimeout(connect, delay);
    };
  }

  // The controls act as they change; the form is never submitted (no inline
  // handler: the Content-Security-Policy allows none).
  app.querySelector("form.controls").addEventListener("submit", (e) => e.preventDefault());

  // The time slider (timeslider.js) -------------------------------------------------

  function showPast(snapshot) {
    state.past = true;
    state.scrolled = true; // keep the reader's place
    handle({ ...snapshot, past: true });
  }

  // Back to live: a new socket brings a fresh snapshot.
  function resumeLive() {
    state.past = false;
    if (socket) {
      socket.onclose = null;
      socket.close();
    }
    failures = 0;
    connect();
  }

  function setTicks(decimals) {
    state.decimals = decimals;
    for (const [symbol, row] of Object.entries(state.rows)) {
      for (const [field, td] of Object.entries(state.cells[symbol] || {})) {
        if (PRICE_FIELDS.has(field) && row[field] !== undefined) td.textContent = format(field, row[field], symbol);
      }
    }
  }

  window.chainView = { showPast, resumeLive, setTicks };
  buildHeader();
  connect();
})();
