// Scan page: polls the scan's JSON every 2 s and updates the table in place (text only, never HTML);
// reloads the page once the scan has finished, for links to what was found.
(function () {
  "use strict";
  var root = document.getElementById("scan");
  if (!root || root.dataset.finished === "yes") { return; }
  var url = root.dataset.url;
  var FINISHED = ["done", "partial", "failed", "cancelled"];

  function set(scope, field, text) {
    var el = scope.querySelector('[data-field="' + field + '"]');
    if (el) { el.textContent = text == null ? "" : String(text); }
  }

  function update(scan) {
    var p = scan.progress;
    set(root, "status", scan.status);
    set(root, "progress", p.done + " done, " + p.failed + " failed, " + p.running + " running, " +
        p.queued + " queued, " + p.cancelled + " cancelled of " + p.total);
    scan.hosts.forEach(function (h) {
      var row = root.querySelector('tr[data-host="' + Number(h.host_id) + '"]');
      if (!row) { return; }
      var cell = row.querySelector('[data-field="status"]');
      if (cell) { cell.textContent = ""; var span = document.createElement("span");
        span.className = "status status-" + String(h.status).replace(/[^a-z]/g, "");
        span.textContent = h.status; cell.appendChild(span); }
      set(row, "stage", h.stage || "—");
      set(row, "error", h.error || "");
      set(row, "hint", h.hint || "");
    });
    return FINISHED.indexOf(scan.status) >= 0;
  }

  function poll() {
    fetch(url, {credentials: "same-origin", headers: {"Accept": "application/json"}})
      .then(function (r) { if (!r.ok) { throw new Error(r.status); } return r.json(); })
      .then(function (scan) { if (update(scan)) { window.location.reload(); } else { setTimeout(poll, 2000); } })
      .catch(function () { set(root, "live", "(lost contact; reload the page)"); });
  }
  setTimeout(poll, 1000);
}());
