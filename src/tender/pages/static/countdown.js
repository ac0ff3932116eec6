// The live countdown to a tender's deadline. Without this script the page shows the time left
// when it was served, and the deadline itself. The count starts from what the server said was
// left (its clock decides lateness, not this computer's) and goes down by this page's own timer.
(function () {
  "use strict";
  var element = document.getElementById("countdown");
  if (!element) return;
  var left = Number(element.dataset.secondsLeft);
  var started = performance.now();
  var words = element.dataset.words;
  function tick() {
    var seconds = Math.floor(left - (performance.now() - started) / 1000);
    if (seconds <= 0) {
      element.textContent = element.dataset.passed;
      return;
    }
    element.textContent = words
      .replace("{days}", Math.floor(seconds / 86400))
      .replace("{hours}", Math.floor((seconds % 86400) / 3600))
      .replace("{minutes}", Math.floor((seconds % 3600) / 60))
      .replace("{seconds}", seconds % 60);
    window.setTimeout(tick, 1000 - ((performance.now() - started) % 1000));
  }
  tick();
})();
