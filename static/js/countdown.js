// Escalation countdowns ("acknowledge within 12 minutes") tick while the page is open.
// The server renders each element (the countdown template tag) with its deadline in
// data-deadline and its phrases in data-within ("{}" where the duration goes),
// data-last-minute and data-passed, so the words live once, in Python. Elements htmx
// swaps in are found on the next tick, so nothing needs wiring after a swap.
(function () {
  "use strict";

  // Django's timeuntil: the first non-zero unit and the one after it, if non-zero.
  // The unit names stay here: the duration changes on every tick in the browser, and
  // handing over Django's plural forms would take more code than these four words.
  var UNITS = [["week", 604800], ["day", 86400], ["hour", 3600], ["minute", 60]];

  function timeuntil(seconds) {
    var parts = [];
    for (var i = 0; i < UNITS.length && parts.length < 2; i++) {
      var count = Math.floor(seconds / UNITS[i][1]);
      seconds -= count * UNITS[i][1];
      if (count) parts.push(count + "\u00a0" + UNITS[i][0] + (count === 1 ? "" : "s"));
      else if (parts.length) break;
    }
    return parts.join(", ");
  }

  function countdown(element, deadline, now) {
    var seconds = (deadline - now) / 1000;
    if (seconds <= 0) return element.getAttribute("data-passed");
    if (seconds < 60) return element.getAttribute("data-last-minute");
    return element.getAttribute("data-within").replace("{}", timeuntil(seconds));
  }

  function tick() {
    var now = Date.now();
    document.querySelectorAll(".countdown[data-deadline][data-within]").forEach(function (element) {
      var deadline = Date.parse(element.getAttribute("data-deadline"));
      if (isNaN(deadline)) return;
      var text = countdown(element, deadline, now);
      if (text !== null && element.textContent !== text) element.textContent = text;
    });
  }

  tick();
  window.setInterval(tick, 1000);
})();
