// Live updates (contract v1.2, "Console"): a page that shows tickets asks
// the server for an event stream (its `data-live` URL) and reloads itself
// when what it shows has changed, unless the person has started typing;
// then it only says so next to the Reload link every page has anyway.
(function () {
  "use strict";
  var live = document.querySelector("[data-live]");
  if (!live || !window.EventSource) {
    return;
  }
  var typing = false;
  document.addEventListener("input", function () {
    typing = true;
  });
  var source = new EventSource(live.getAttribute("data-live"));
  source.addEventListener("changed", function () {
    if (typing) {
      var note = document.getElementById("live-note");
      if (note) {
        note.hidden = false;
      }
      return;
    }
    source.close();
    window.location.reload();
  });
})();
