// One contract's last 24 h from the history (dashboard/history_views.py): prices with
// the tick size's precision, IVs in percent, the forward and open interest, each a
// uPlot chart. Flags for tests: window.historyDrawn, window.historyPoints.
(function () {
  "use strict";

  const app = document.getElementById("contract-app");
  const places = window.otFormat.decimals(app.dataset.tick);
  const status = document.getElementById("history-status");
  window.historyDrawn = false;
  window.historyPoints = 0;

  const price = (u, v) => (v === null || v === undefined ? "–" : window.otFormat.price(v, places));
  const percent = (u, v) => (v === null || v === undefined ? "–" : (v * 100).toFixed(1) + "%");
  const plain = (u, v) => (v === null || v === undefined ? "–" : String(v));
  const CHARTS = [
    ["price", price, [["mark", "#ffffff"], ["bid", "#7fe0a8"], ["ask", "#ff9c94"]]],
    ["iv", percent, [["mark_iv", "#ffffff"], ["bid_iv", "#7fe0a8"], ["ask_iv", "#ff9c94"]]],
    ["underlying", plain, [["underlying", "#7db7ff"]]],
    ["oi", plain, [["oi", "#f5c451"]]],
  ];

  function width(el) {
    return Math.max(300, el.clientWidth || 600);
  }

  function chart(id, value, series, data) {
    const el = document.getElementById(id);
    const axisValues = (u, ticks) => ticks.map((t) => value(u, t));
    return new uPlot({
      width: width(el), height: 220,
      axes: [{ stroke: "#9aa4b2" }, { stroke: "#9aa4b2", size: 70, values: axisValues }],
      series: [{}, ...series.map(([name, stroke]) => ({ label: name, stroke, width: 1.5, spanGaps: true, value }))],
    }, [data.times, ...series.map(([name]) => data[name])], el);
  }

  async function load() {
    const response = await fetch(app.dataset.historyUrl);
    const data = await response.json();
    if (!response.ok) {
      status.textContent = data.error;
      return;
    }
    status.textContent = data.times.length ? `${data.times.length} samples since ${data.since.slice(0, 16)} UTC` : "no samples yet";
    const charts = CHARTS.map(([id, value, series]) => [id, chart(id, value, series, data)]);
    window.addEventListener("resize", () => {
      for (const [id, u] of charts) u.setSize({ width: width(document.getElementById(id)), height: 220 });
    });
    window.historyPoints = data.times.length;
    window.historyDrawn = true;
  }

  load();
})();
