// Escalation countdowns ("acknowledge within 12 minutes") tick while the page is open.
// The server renders the same words (the ack_countdown filter) as the no-JS text; each
// element carries its deadline as ISO time in data-deadline. Elements htmx swaps in
// are found on the next tick, so nothing needs wiring after a swap.
(function () {
  "use strict";

  // Django's timeuntil: the first non-zero unit and the one after it, if non-zero.
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

  function countdown(deadline, now) {
    var seconds = (deadline - now) / 1000;
    if (seconds <= 0) return "deadline passed: moving to the next step";
    if (seconds < 60) return "acknowledge within a minute";
    return "acknowledge within " + timeuntil(seconds);
  }

  function tick() {
    var now = Date.now();
    document.querySelectorAll(".countdown[data-deadline]").forEach(function (element) {
      var deadline = Date.parse(element.getAttribute("data-deadline"));
      if (isNaN(deadline)) return;
      var text = countdown(deadline, now);
      if (element.textContent !== text) element.textContent = text;
    });
  }

  tick();
  window.setInterval(tick, 1000);
})();
