(function () {
  "use strict";
  // Sort and filter the schools x checks matrix. No network, no eval, no inline handlers:
  // the page's CSP allows this script by its hash and nothing else.
  var table = document.getElementById("matrix");
  if (!table) { return; }
  var body = table.tBodies[0];
  var headers = Array.prototype.slice.call(table.querySelectorAll("thead th[data-col]"));
  headers.forEach(function (th) {
    var button = th.querySelector("button");
    button.addEventListener("click", function () {
      var col = Number(th.getAttribute("data-col"));
      var numeric = th.getAttribute("data-type") === "number";
      var dir = th.getAttribute("aria-sort") === "descending" ? "ascending" : "descending";
      headers.forEach(function (h) { h.removeAttribute("aria-sort"); });
      th.setAttribute("aria-sort", dir);
      var rows = Array.prototype.slice.call(body.rows);
      rows.sort(function (a, b) {
        var x = a.cells[col].getAttribute("data-value"), y = b.cells[col].getAttribute("data-value");
        var c = numeric ? Number(x) - Number(y) : x.localeCompare(y);
        if (dir === "descending") { c = -c; }
        return c !== 0 ? c : a.getAttribute("data-name").localeCompare(b.getAttribute("data-name"));
      });
      rows.forEach(function (r) { body.appendChild(r); });
    });
  });
  var controls = document.getElementById("matrix-controls");
  var text = document.getElementById("filter-text");
  var status = document.getElementById("filter-status");
  var count = document.getElementById("filter-count");
  function apply() {
    var q = text.value.trim().toLowerCase(), s = status.value, shown = 0;
    Array.prototype.forEach.call(body.rows, function (r) {
      var statuses = " " + r.getAttribute("data-statuses") + " ";
      var ok = (!q || r.getAttribute("data-name").indexOf(q) !== -1) && (!s || statuses.indexOf(" " + s + " ") !== -1);
      r.hidden = !ok;
      if (ok) { shown += 1; }
    });
    count.textContent = shown + " of " + body.rows.length + " schools shown";
  }
  text.addEventListener("input", apply);
  status.addEventListener("change", apply);
  controls.hidden = false;
  apply();
}());
