// The term-structure page: ATM IV by days to expiry, the constant-maturity ATM IVs,
// each expiry's numbers, and the last 24 hours of constant-maturity IVs, RR25 and
// BF25 from the minute samples. Data: the page's own JSON (dashboard/views.py
// term_page), embedded first, then fetched from ?format=json every REFRESH_MS.
//
// Flags for tests and scripts: window.termReady (drawn once), window.termStats =
// {draws, samples}.
(function () {
  "use strict";

  const REFRESH_MS = 30000;
  const COLOURS = ["#7db7ff", "#3ddc84", "#f5c451", "#ff6b5e", "#c792ea", "#89ddff",
    "#f78c6c", "#c3e88d", "#ffcb6b", "#82aaff", "#ff5370", "#b2ccd6"];
  const { fmt } = window.OTAnalytics;
  const charts = {};
  window.termReady = false;
  window.termStats = { draws: 0, samples: 0 };

  const pct = (v) => (v === null || v === undefined ? null : v * 100);

  function chart(id, opts, data) {
    const el = document.getElementById(id);
    if (charts[id]) {
      charts[id].destroy(); // series change as expiries come and go
    }
    const axis = { stroke: "#9aa4b2" };
    charts[id] = new uPlot({
      width: Math.max(300, el.clientWidth || 500), height: 240,
      axes: [axis, { ...axis, size: 56, values: (u, t) => t.map((v) => v.toFixed(1) + "%") }],
      ...opts,
    }, data, el);
  }

  function line(label, i) {
    return { label, stroke: COLOURS[i % COLOURS.length], width: 1.5, spanGaps: true,
      points: { show: false }, value: (u, v) => (v === null ? "–" : v.toFixed(1) + "%") };
  }

  function drawTerm(data) {
    const points = data.term_structure.filter((p) => p.atm_iv !== null && p.days > 0);
    chart("term-chart", {
      scales: { x: { time: false } }, legend: { live: false },
      series: [{ label: "days" }, { ...line("ATM IV", 0), points: { show: true, size: 6 } }],
    }, [points.map((p) => p.days), points.map((p) => pct(p.atm_iv))]);
    for (const td of document.querySelectorAll("[data-cm]")) {
      const v = data.constant_maturity[td.dataset.cm];
      td.textContent = fmt.pct(v);
      td.dataset.value = v === null ? "" : v;
    }
  }

  function drawExpiries(data) {
    const days = Object.fromEntries(data.term_structure.map((p) => [p.expiry, p.days]));
    document.querySelector("#expiries tbody").innerHTML = data.expiries.map((e) =>
      `<tr data-expiry="${e.expiry}"><th>${e.expiry}</th><td>${days[e.expiry].toFixed(1)}</td>` +
      `<td>${fmt.price(e.forward)}</td><td>${fmt.pct(e.atm_iv)}</td><td>${fmt.pct(e.rr25)}</td>` +
      `<td>${fmt.pct(e.bf25)}</td><td>${fmt.ratio(e.pcr_oi)}</td><td>${fmt.strike(e.max_pain)}</td>` +
      `<td>${fmt.strike(e.zero_gamma)}</td></tr>`).join("");
  }

  function drawHistory(history) {
    const samples = history.samples;
    document.getElementById("no-history").hidden = samples.length > 0;
    const xs = samples.map((s) => Date.parse(s.at) / 1000);
    const timeOpts = { scales: { x: { time: true } } };
    const cms = ["7", "30", "60", "90"];
    chart("cm-chart", { ...timeOpts, series: [{}, ...cms.map((d, i) => line(`${d} d`, i))] },
      [xs, ...cms.map((d) => samples.map((s) => pct(s.constant_maturity[d])))]);
    const expiries = [...new Set(samples.flatMap((s) => s.expiries.map((e) => e.expiry)))].sort();
    const byExpiry = (field) => expiries.map((expiry) => samples.map((s) => {
      const found = s.expiries.find((e) => e.expiry === expiry);
      return found ? pct(found[field]) : null;
    }));
    const series = [{}, ...expiries.map((e, i) => line(e, i))];
    chart("rr-chart", { ...timeOpts, series }, [xs, ...byExpiry("rr25")]);
    chart("bf-chart", { ...timeOpts, series }, [xs, ...byExpiry("bf25")]);
    window.termStats.samples = samples.length;
  }

  function draw(data) {
    drawTerm(data);
    drawExpiries(data);
    drawHistory(data.history);
    window.termStats.draws += 1;
    window.termReady = true;
  }

  async function refresh() {
    try {
      const response = await fetch(`${location.pathname}?format=json`);
      if (response.ok) draw(await response.json());
    } catch (err) {
      // the next refresh tries again
    }
  }

  draw(JSON.parse(document.getElementById("term-data").textContent));
  setInterval(refresh, REFRESH_MS);
})();
