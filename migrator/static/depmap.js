// Dependency map: the focus box highlights the applications that match (host, name, software) and
// their neighbours, and dims the rest; Enter scrolls to the first match. Text only, never HTML.
(function () {
  "use strict";
  var svg = document.getElementById("depmap");
  var input = document.getElementById("map-filter");
  if (!svg || !input) { return; }
  var status = document.getElementById("map-status");
  var clear = document.getElementById("map-clear");
  var initialStatus = status ? status.textContent : "";
  var nodes = Array.prototype.slice.call(svg.querySelectorAll(".node"));
  var edges = Array.prototype.slice.call(svg.querySelectorAll(".edge"));
  var byId = {};
  nodes.forEach(function (n) { byId[n.id] = n; });
  var first = null;

  function apply() {
    var q = input.value.trim().toLowerCase();
    first = null;
    nodes.forEach(function (n) { n.classList.remove("hl", "match"); });
    edges.forEach(function (e) { e.classList.remove("hl"); });
    if (!q) {
      svg.classList.remove("focused");
      if (status) { status.textContent = initialStatus; }
      return;
    }
    var matched = {};
    var exact = nodes.filter(function (n) { return (n.dataset.ref || "").toLowerCase() === q; });
    var hits = exact.length ? exact : nodes.filter(function (n) { return (n.dataset.search || "").indexOf(q) >= 0; });
    hits.forEach(function (n) { matched[n.id] = true; n.classList.add("match", "hl"); });
    var near = 0;
    edges.forEach(function (e) {
      var a = e.dataset.from, b = e.dataset.to;
      if (matched[a] || matched[b]) {
        e.classList.add("hl");
        [a, b].forEach(function (id) {
          var n = byId[id];
          if (n && !n.classList.contains("hl")) { n.classList.add("hl"); near += 1; }
        });
      }
    });
    svg.classList.add("focused");
    first = hits.length ? hits[0] : null;
    if (status) {
      status.textContent = hits.length ? hits.length + " match(es), " + near + " neighbour(s) highlighted."
                                       : "No application matches \u201c" + input.value.trim() + "\u201d.";
    }
  }

  function reveal() {
    if (first && first.scrollIntoView) { first.scrollIntoView({block: "center", inline: "center"}); }
  }

  input.addEventListener("input", function (ev) {
    apply();
    if (ev.inputType === "insertReplacementText" || ev.inputType === undefined) { reveal(); }   // picked from the list
  });
  input.addEventListener("keydown", function (ev) {
    if (ev.key === "Enter") { ev.preventDefault(); apply(); reveal(); }
    if (ev.key === "Escape") { input.value = ""; apply(); }
  });
  if (clear) { clear.addEventListener("click", function () { input.value = ""; apply(); input.focus(); }); }
  if (input.value) { apply(); reveal(); }
}());
