(function () {
  "use strict";
  // Search, sort and page the schools x checks matrix from the rows in #matrix-data (JSON, never executed).
  // Only one page of rows is in the document at a time, so a keystroke at 24,000 schools filters an array
  // and draws 50 rows. Text goes in with textContent and setAttribute only. No network, no eval, no inline
  // handlers: the page's CSP allows this script by its hash and nothing else.
  var table = document.getElementById("matrix");
  var source = document.getElementById("matrix-data");
  if (!table || !source) { return; }
  var data = JSON.parse(source.textContent);
  var body = table.tBodies[0];
  var statuses = data.statuses;  // [value, symbol, label, rank]
  var columns = data.columns;
  var size = data.page_size;
  var rows = data.rows.map(function (r, index) {
    var values = [statuses[r[2]][0]].concat(r[4].map(function (i) { return statuses[i][0]; }));
    return {r: r, index: index, name: r[1].toLowerCase(), statuses: " " + values.join(" ") + " "};
  });
  var order = rows.slice();
  var shown = order;
  var page = 0;
  var nameRank = null;  // each row's place by name (the collator's order), computed at the first sort

  function el(tag, attrs, text) {
    var node = document.createElement(tag);
    Object.keys(attrs).forEach(function (k) { node.setAttribute(k, attrs[k]); });
    if (text !== undefined) { node.textContent = text; }
    return node;
  }
  function badge(tag, status, href) {
    var s = statuses[status], attrs = {"class": "status status-" + s[0]};
    if (href) { attrs.href = href; }
    return el(tag, attrs, s[1] + " " + s[2]);
  }
  function draw(row) {
    var r = row.r, id = encodeURIComponent(r[0]), missing = r[3] === 1;
    var tr = el("tr", {"data-name": row.name, "data-statuses": row.statuses.trim()});
    var name = el("td", {"data-value": row.name, "data-label": "School"});
    name.appendChild(missing ? document.createTextNode(r[1]) : el("a", {href: "schools/" + id + ".html"}, r[1]));
    tr.appendChild(name);
    var overall = el("td", {"data-value": String(statuses[r[2]][3]), "data-label": "Overall"});
    overall.appendChild(badge("span", r[2], ""));
    tr.appendChild(overall);
    r[4].forEach(function (status, i) {
      var td = el("td", {"data-value": String(statuses[status][3]), title: data.strings[r[5][i]], "data-label": columns[i].label});
      td.appendChild(missing ? badge("span", status, "")
        : badge("a", status, "schools/" + id + ".html#check-" + encodeURIComponent(columns[i].name)));
      tr.appendChild(td);
    });
    tr.appendChild(el("td", {"data-value": String(r[6]), "data-label": "Posts"}, r[6] < 0 ? "\u2013" : String(r[6])));
    var findings = el("td", {"data-value": String(r[7]), "data-label": "Findings"}, String(r[7]));
    if (r[8]) { findings.appendChild(document.createTextNode(" ")); findings.appendChild(el("span", {"class": "sev-critical"}, "(" + r[8] + " critical)")); }
    if (r[9]) { findings.appendChild(document.createTextNode(" ")); findings.appendChild(el("span", {"class": "muted"}, "+" + r[9] + " reviewed")); }
    tr.appendChild(findings);
    return tr;
  }

  var pager = document.getElementById("matrix-pager");
  var info = document.getElementById("page-info");
  var prev = document.getElementById("page-prev");
  var next = document.getElementById("page-next");
  var count = document.getElementById("filter-count");
  function render() {
    var pages = Math.max(1, Math.ceil(shown.length / size));
    page = Math.min(page, pages - 1);
    var fragment = document.createDocumentFragment();
    shown.slice(page * size, (page + 1) * size).forEach(function (row) { fragment.appendChild(draw(row)); });
    body.replaceChildren(fragment);
    count.textContent = shown.length + " of " + rows.length + " schools shown";
    pager.hidden = pages < 2;
    info.textContent = shown.length ? "Schools " + (page * size + 1) + " to " + Math.min((page + 1) * size, shown.length) +
      " of " + shown.length + ", page " + (page + 1) + " of " + pages : "";
    prev.disabled = page === 0;
    next.disabled = page >= pages - 1;
  }

  var text = document.getElementById("filter-text");
  var status = document.getElementById("filter-status");
  function apply() {
    var q = text.value.trim().toLowerCase(), s = status.value ? " " + status.value + " " : "";
    shown = (q || s) ? order.filter(function (row) {
      return (!q || row.name.indexOf(q) !== -1) && (!s || row.statuses.indexOf(s) !== -1);
    }) : order;
    page = 0;
    render();
  }

  var headers = Array.prototype.slice.call(table.querySelectorAll("thead th[data-col]"));
  var checks = columns.length;
  function key(row, col) {
    var r = row.r;
    if (col === 1) { return statuses[r[2]][3]; }
    if (col <= checks + 1) { return statuses[r[4][col - 2]][3]; }
    return col === checks + 2 ? r[6] : r[7];
  }
  headers.forEach(function (th) {
    th.querySelector("button").addEventListener("click", function () {
      var col = Number(th.getAttribute("data-col"));
      var dir = th.getAttribute("aria-sort") === "descending" ? "ascending" : "descending";
      var sign = dir === "descending" ? -1 : 1;
      headers.forEach(function (h) { h.removeAttribute("aria-sort"); });
      th.setAttribute("aria-sort", dir);
      if (!nameRank) {
        var collator = new Intl.Collator();
        nameRank = new Array(rows.length);
        rows.slice().sort(function (a, b) { return collator.compare(a.name, b.name); })
          .forEach(function (row, place) { nameRank[row.index] = place; });
      }
      order = rows.slice().sort(function (a, b) {
        var c = col === 0 ? nameRank[a.index] - nameRank[b.index] : key(a, col) - key(b, col);
        c = sign * c;
        return c !== 0 ? c : nameRank[a.index] - nameRank[b.index];
      });
      apply();
    });
  });
  prev.addEventListener("click", function () { page -= 1; render(); });
  next.addEventListener("click", function () { page += 1; render(); });
  text.addEventListener("input", apply);
  status.addEventListener("change", apply);
  var links = document.getElementById("matrix-pages");
  if (links) { links.hidden = true; }  // the pages for a reader without the script
  document.getElementById("matrix-controls").hidden = false;
  apply();
}());
