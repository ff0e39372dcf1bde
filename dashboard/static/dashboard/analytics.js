// The chain page's live analytics: the strip (ATM IV, RR25, BF25, PCR, max pain,
// zero gamma) and the GEX by strike chart, from the `analytics` object the chain
// socket sends with the snapshot and then at most once a second (dashboard/
// analytics.py; keys as in docs/analytics.md). chain.js hands every message over as
// a "chain:message" event. The formatters are shared with the term page (term.js).
//
// Flags for tests and scripts: window.analyticsStats = {updates, last}, and each
// strip value carries data-value (the raw number, "" for null).
(function () {
  "use strict";

  const DASH = "–";
  const fmt = {
    // IVs and IV differences: the store's fractions in percent, one decimal.
    pct: (v) => (v === null || v === undefined ? DASH : (v * 100).toFixed(1) + "%"),
    ratio: (v) => (v === null || v === undefined ? DASH : v.toFixed(2)),
    strike: (v) => (v === null || v === undefined ? DASH : String(v)),
    price: (v) => (v === null || v === undefined ? DASH : v.toFixed(2)),
    text: (v) => (v === null || v === undefined ? DASH : String(v)),
  };
  const METRICS = {
    atm_iv: fmt.pct, rr25: fmt.pct, bf25: fmt.pct, pcr_oi: fmt.ratio,
    pcr_volume: fmt.ratio, max_pain: fmt.strike, zero_gamma: fmt.strike,
    forward: fmt.price, convention: fmt.text,
  };
  window.OTAnalytics = { fmt };

  const strip = document.getElementById("analytics");
  if (!strip) return; // not the chain page
  window.analyticsStats = { updates: 0, last: null };
  let gexChart = null;

  function showStrip(a) {
    for (const el of document.querySelectorAll("[data-metric]")) {
      const value = a[el.dataset.metric];
      const show = METRICS[el.dataset.metric];
      if (!show) continue;
      el.textContent = show(value);
      el.dataset.value = value === null || value === undefined ? "" : value;
    }
  }

  // 1,250,000 -> 1.3M: GEX runs to millions of USD per 1 % move.
  function compact(v) {
    const a = Math.abs(v);
    if (a >= 1e9) return (v / 1e9).toFixed(1) + "B";
    if (a >= 1e6) return (v / 1e6).toFixed(1) + "M";
    if (a >= 1e3) return (v / 1e3).toFixed(1) + "k";
    return String(v);
  }

  function makeGexChart(el) {
    const bars = uPlot.paths.bars;
    return new uPlot({
      width: Math.max(280, el.clientWidth || 600), height: 220, legend: { live: false },
      scales: { x: { time: false } },
      axes: [{ stroke: "#9aa4b2" }, { stroke: "#9aa4b2", size: 60, values: (u, t) => t.map(compact) }],
      series: [
        { label: "strike" },
        { label: "GEX", stroke: "#7db7ff", fill: "rgba(125,183,255,0.45)",
          paths: bars && bars({ size: [0.8, 40] }), points: { show: false } },
      ],
    }, [[], []], el);
  }

  function drawGex(a) {
    const el = document.getElementById("gex");
    if (!el || !window.uPlot || !a.gex_by_strike) return;
    if (!gexChart) {
      gexChart = makeGexChart(el);
      window.addEventListener("resize", () =>
        gexChart.setSize({ width: Math.max(280, el.clientWidth || 600), height: 220 }));
    }
    gexChart.setData([a.gex_by_strike.map((p) => p.strike), a.gex_by_strike.map((p) => p.gex)]);
  }

  window.addEventListener("chain:message", (event) => {
    const a = event.detail.analytics;
    if (!a) return; // not in this message, or no such chain any more
    showStrip(a);
    drawGex(a);
    window.analyticsStats.updates += 1;
    window.analyticsStats.last = a;
  });
})();
