// Number formats the pages share: a price with the precision of its contract's tick
// size (a tick of 5 shows 1235, of 0.0005 shows 0.1235).
(function () {
  "use strict";

  // The decimals of a tick size written as the listing writes it ("5", "0.0005").
  function decimals(tick) {
    if (!tick) return undefined;
    const dot = String(tick).indexOf(".");
    return dot < 0 ? 0 : String(tick).length - dot - 1;
  }

  // The exchange's text as it is when the tick size is unknown.
  function price(raw, places) {
    if (places === undefined || raw === "" || raw === null || isNaN(Number(raw))) return raw;
    return Number(raw).toFixed(places);
  }

  window.otFormat = { decimals, price };
})();
