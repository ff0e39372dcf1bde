// The chain page's history: the time slider that shows the chain as it was at a past
// minute (chain.js renders it; live messages wait), the tick sizes prices are shown
// with, and a click on a contract's cell opening its page with 24 h charts.
//
// Flags for tests: window.historyReady (meta loaded), window.pastShown (the `at` of
// the past chain on screen, null when live).
(function () {
  "use strict";

  const app = document.getElementById("chain-app");
  const base = `/chain/${app.dataset.exchange}/${app.dataset.base}/${app.dataset.expiry}/`;
  const control = document.getElementById("history-control");
  const slider = document.getElementById("when");
  const label = document.getElementById("when-label");
  const liveButton = document.getElementById("live-button");
  const conn = document.getElementById("conn");
  let interval = 60000;
  window.historyReady = false;
  window.pastShown = null;

  function clock(ms) {
    return new Date(ms).toISOString().slice(0, 16).replace("T", " ") + " UTC";
  }

  function isLive() {
    return Number(slider.value) >= Number(slider.max);
  }

  // The slider spans the chain's samples; its last position, one slot on, is live.
  async function loadMeta() {
    const response = await fetch(base + "meta.json");
    if (!response.ok) return;
    const meta = await response.json();
    const decimals = {};
    for (const [symbol, tick] of Object.entries(meta.ticks)) decimals[symbol] = window.otFormat.decimals(tick);
    window.chainView.setTicks(decimals);
    interval = meta.interval_s * 1000;
    if (meta.history) {
      const live = isLive();
      slider.min = meta.history.oldest;
      slider.max = meta.history.newest + interval;
      slider.step = interval;
      if (live) slider.value = slider.max;
      control.hidden = false;
    }
    window.historyReady = true;
  }

  async function showAt(at) {
    label.textContent = `${clock(at)} · loading`;
    const response = await fetch(`${base}at.json?at=${at}`);
    const body = await response.json();
    if (Number(slider.value) !== at) return; // the slider moved on meanwhile
    if (!response.ok) {
      label.textContent = `${clock(at)} · ${body.error}`;
      return;
    }
    window.chainView.showPast(body);
    label.textContent = clock(at);
    liveButton.hidden = false;
    conn.textContent = "past";
    conn.className = "badge pending";
    window.pastShown = at;
  }

  function goLive() {
    slider.value = slider.max;
    label.textContent = "live";
    liveButton.hidden = true;
    window.pastShown = null;
    window.chainView.resumeLive();
  }

  slider.addEventListener("input", () => {
    label.textContent = isLive() ? "live" : clock(Number(slider.value));
  });
  slider.addEventListener("change", () => (isLive() ? goLive() : showAt(Number(slider.value))));
  liveButton.addEventListener("click", goLive);

  // A contract's cell opens the contract's page.
  document.querySelector("#chain tbody").addEventListener("click", (event) => {
    const td = event.target.closest("td[data-symbol]");
    if (td) location.href = `/contract/${app.dataset.exchange}/${td.dataset.symbol}/`;
  });

  loadMeta();
  setInterval(() => window.pastShown === null && loadMeta(), 60000);
})();
