// The overview refreshes its table every few seconds (index prices, feed status).
(function () {
  "use strict";
  const section = document.getElementById("overview");
  async function refresh() {
    try {
      const response = await fetch("?partial=1", { cache: "no-store" });
      if (response.ok) section.innerHTML = await response.text();
    } catch (err) {
      // offline for a moment: the next refresh tries again
    }
  }
  setInterval(refresh, 3000);
})();
