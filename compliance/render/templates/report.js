/* The report's table and matrix, drawn from the embedded JSON a page at a time.
   Every value from the store goes into the page through textContent or a validated
   http(s) href: never innerHTML, never a string of markup. */
(function () {
  "use strict";
  performance.mark("report-script-start");
  var D = JSON.parse(document.getElementById("report-data").textContent);
  performance.mark("report-data-parsed");
  var S = D.strings, F = D.findings, N = F.fp.length;
  (function expandProfiles() {  // columns shared by many findings travel once per profile
    var P = D.profiles, pr = F.pr;
    D.profileColumns.forEach(function (name, k) {
      var col = new Int32Array(N);
      for (var i = 0; i < N; i++) col[i] = P[pr[i]][k];
      F[name] = col;
    });
  })();
  var SEV = D.severities;

  function str(i) { return i < 0 ? "" : S[i]; }
  function el(tag, cls, text) {
    var e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined && text !== null) e.textContent = String(text);
    return e;
  }
  function safeHref(url) { return typeof url === "string" && /^https?:\/\/[^\s<>"'`]+$/i.test(url) ? url : null; }
  function refLinks(refs) {
    var p = el("p", "refs");
    refs.forEach(function (r) {
      var href = safeHref(r[1]);
      var a = href ? el("a", "ref", r[0]) : el("span", "ref", r[0]);
      if (href) { a.href = href; a.rel = "noopener noreferrer"; a.target = "_blank"; }
      p.appendChild(a);
    });
    return p;
  }
  function where(i) {
    var pa = F.pa[i], pk = F.pk[i];
    if (pk >= 0) {
      var name = F.ve[i] >= 0 ? S[pk] + "==" + S[F.ve[i]] : S[pk];
      return pa >= 0 ? name + " (" + S[pa] + ")" : name;
    }
    if (pa >= 0) return F.ln[i] ? S[pa] + ":" + F.ln[i] : S[pa];
    return F.ho[i] >= 0 ? S[F.ho[i]] : "?";
  }
  function debounce(fn, ms) {
    var t = null;
    return function () { clearTimeout(t); t = setTimeout(fn, ms); };
  }

  /* ---- findings table ---- */
  var state = { order: null, page: 0, size: 100, sortKey: null, sortDir: -1, open: -1 };
  var all = new Int32Array(N);
  for (var k = 0; k < N; k++) all[k] = k;   // Python sent them blocking first, worst first
  var haystack = null;

  function fillSelect(id, values) {
    var sel = document.getElementById(id);
    values.forEach(function (v) { var o = el("option", null, v[1]); o.value = v[0]; sel.appendChild(o); });
  }
  function distinct(col) {
    var seen = {}, out = [];
    for (var i = 0; i < N; i++) { var v = col[i]; if (!seen[v]) { seen[v] = 1; out.push(v); } }
    return out;
  }
  fillSelect("f-severity", SEV.map(function (s, i) { return [String(i), s]; }).reverse());
  fillSelect("f-scanner", distinct(F.sc).map(function (i) { return [String(i), S[i]]; }).sort(function (a, b) { return a[1] < b[1] ? -1 : 1; }));
  fillSelect("f-status", distinct(F.st).map(function (i) { return [String(i), S[i]]; }).sort(function (a, b) { return a[1] < b[1] ? -1 : 1; }));

  function buildHaystack() {
    haystack = new Array(N);
    for (var i = 0; i < N; i++) {
      haystack[i] = [str(F.ti[i]), str(F.me[i]), S[F.ru[i]], S[F.sc[i]], where(i), str(F.ev[i]), F.fp[i], str(F.no[i])]
        .join("\u0001").toLowerCase();
    }
  }

  function value(id) { return document.getElementById(id).value; }
  function checked(id) { return document.getElementById(id).checked; }

  function applyFilters() {
    var q = value("q").trim().toLowerCase();
    var sev = value("f-severity"), sc = value("f-scanner"), st = value("f-status");
    var w = value("f-where").trim().toLowerCase(), bl = checked("f-blocking"), nw = checked("f-new");
    if (q && !haystack) buildHaystack();
    var sevN = sev === "" ? -1 : +sev, scN = sc === "" ? -1 : +sc, stN = st === "" ? -1 : +st;
    var out = [];
    for (var i = 0; i < N; i++) {
      if (sevN >= 0 && F.sv[i] !== sevN) continue;
      if (scN >= 0 && F.sc[i] !== scN) continue;
      if (stN >= 0 && F.st[i] !== stN) continue;
      if (bl && !F.bl[i]) continue;
      if (nw && !F.nw[i]) continue;
      if (w && where(i).toLowerCase().indexOf(w) < 0) continue;
      if (q && haystack[i].indexOf(q) < 0) continue;
      out.push(i);
    }
    state.order = out;
    sortOrder();
    state.page = 0;
    state.open = -1;
    draw();
  }

  function sortValue(key, i) {
    if (key === "where") return where(i).toLowerCase();
    if (key === "sv") return F.sv[i] * 2 + F.bl[i];
    if (key === "sc") return (S[F.sc[i]] + " " + S[F.ru[i]]).toLowerCase();
    var v = F[key][i];
    return typeof v === "number" ? str(v).toLowerCase() : v;
  }
  function sortOrder() {
    var key = state.sortKey;
    if (!key) return;
    var dir = state.sortDir;
    var keyed = state.order.map(function (i) { return [sortValue(key, i), i]; });
    keyed.sort(function (a, b) { return a[0] < b[0] ? -dir : a[0] > b[0] ? dir : a[1] - b[1]; });
    state.order = keyed.map(function (p) { return p[1]; });
  }

  function detailRow(i) {
    var tr = el("tr", "open-detail"), td = el("td");
    td.colSpan = 6;
    var box = el("div", "detail");
    var msg = str(F.me[i]);
    if (msg) box.appendChild(el("p", null, msg));
    var ev = str(F.ev[i]);
    if (ev) box.appendChild(el("pre", "evidence", ev));
    var dl = el("dl");
    function row(name, text) { if (text) { dl.appendChild(el("dt", null, name)); dl.appendChild(el("dd", null, text)); } }
    row("where", where(i));
    row("rule", S[F.sc[i]] + " " + S[F.ru[i]]);
    row("status", S[F.st[i]] + (F.bl[i] ? " (blocks)" : ""));
    row("note", str(F.no[i]));
    row("fixed in", F.fx[i] >= 0 ? S[F.fx[i]] : "");
    row("remediation", str(F.re[i]));
    row("first seen", str(F.fs[i]));
    row("due", str(F.du[i]));
    row("fingerprint", F.fp[i]);
    box.appendChild(dl);
    var refs = D.refsets[F.rf[i]];
    if (refs.length) box.appendChild(refLinks(refs));
    td.appendChild(box);
    tr.appendChild(td);
    return tr;
  }

  function draw() {
    var order = state.order, size = state.size;
    var pages = Math.max(1, Math.ceil(order.length / size));
    if (state.page >= pages) state.page = pages - 1;
    var start = state.page * size, end = Math.min(order.length, start + size);
    var body = document.getElementById("rows");
    var frag = document.createDocumentFragment();
    for (var n = start; n < end; n++) {
      var i = order[n];
      var tr = el("tr", "row" + (F.bl[i] ? " blocking" : ""));
      tr.dataset.index = String(i);
      var sevCell = el("td"), badge = el("span", "badge sev-" + SEV[F.sv[i]], SEV[F.sv[i]]);
      sevCell.appendChild(badge);
      tr.appendChild(sevCell);
      tr.appendChild(el("td", null, S[F.st[i]] + (F.bl[i] ? " · blocks" : "") + (F.nw[i] ? " · new" : "")));
      var w = el("td"); w.appendChild(el("code", null, where(i))); tr.appendChild(w);
      tr.appendChild(el("td", null, S[F.sc[i]] + " " + S[F.ru[i]]));
      tr.appendChild(el("td", null, str(F.ti[i])));
      tr.appendChild(el("td", null, str(F.fs[i])));
      frag.appendChild(tr);
      if (state.open === i) frag.appendChild(detailRow(i));
    }
    body.replaceChildren(frag);
    if (!order.length) {
      var empty = el("tr"), td = el("td", "muted", N ? "No finding matches these filters." : "No findings.");
      td.colSpan = 6; empty.appendChild(td); body.appendChild(empty);
    }
    document.getElementById("count").textContent =
      order.length === N ? N + " finding(s)" : order.length + " of " + N + " finding(s) match";
    document.getElementById("page").textContent =
      order.length ? "rows " + (start + 1) + "–" + end + " of " + order.length + " · page " + (state.page + 1) + " of " + pages : "";
    document.getElementById("prev").disabled = state.page === 0;
    document.getElementById("next").disabled = state.page >= pages - 1;
  }

  document.getElementById("rows").addEventListener("click", function (ev) {
    var tr = ev.target.closest("tr.row");
    if (!tr) return;
    var i = +tr.dataset.index;
    state.open = state.open === i ? -1 : i;
    draw();
  });
  var refilter = debounce(applyFilters, 120);
  ["q", "f-where"].forEach(function (id) { document.getElementById(id).addEventListener("input", refilter); });
  ["f-severity", "f-scanner", "f-status", "f-blocking", "f-new"].forEach(function (id) {
    document.getElementById(id).addEventListener("change", applyFilters);
  });
  document.getElementById("size").addEventListener("change", function () { state.size = +value("size"); state.page = 0; draw(); });
  document.getElementById("prev").addEventListener("click", function () { state.page--; draw(); });
  document.getElementById("next").addEventListener("click", function () { state.page++; draw(); });
  Array.prototype.forEach.call(document.querySelectorAll("th.sortable"), function (th) {
    th.addEventListener("click", function () {
      var key = th.dataset.sort;
      if (state.sortKey === key) state.sortDir = -state.sortDir;
      else { state.sortKey = key; state.sortDir = key === "sv" ? -1 : 1; }
      Array.prototype.forEach.call(document.querySelectorAll("th.sortable"), function (o) { o.classList.remove("sorted-asc", "sorted-desc"); });
      th.classList.add(state.sortDir > 0 ? "sorted-asc" : "sorted-desc");
      sortOrder();
      state.page = 0;
      draw();
    });
  });
  state.order = Array.prototype.slice.call(all);
  draw();
  performance.mark("report-table-drawn");

  /* ---- fleet matrix ---- */
  var M = D.fleet;
  if (M) {
    var symbols = { "pass": "✓", "fail": "✗", "not-applicable": "–", "error": "!", "not-run": "!" };
    var C = M.controls.length;
    var drawMatrix = function () {
      var q = value("matrix-host").trim().toLowerCase(), failing = checked("matrix-failing");
      var table = el("table"), head = el("tr");
      head.appendChild(el("th", "host", "host \\ control"));
      M.controls.forEach(function (c) {
        var th = el("th", "control", c.id);
        th.title = c.title ? c.id + ": " + c.title : c.id;
        head.appendChild(th);
      });
      var thead = el("thead"); thead.appendChild(head); table.appendChild(thead);
      var body = el("tbody");
      M.hosts.forEach(function (host, h) {
        if (q && host.toLowerCase().indexOf(q) < 0) return;
        if (failing) {
          var bad = false;
          for (var c = 0; c < C; c++) { var s = M.status[h * C + c]; if (s === 1 || s === 3 || s === 4) { bad = true; break; } }
          if (!bad) return;
        }
        var tr = el("tr");
        var hostCell = el("th", "host", host);
        hostCell.title = host;  // a long name is cut with "…" on a narrow screen
        tr.appendChild(hostCell);
        for (var c2 = 0; c2 < C; c2++) {
          var at = h * C + c2, st = M.status[at], td = el("td");
          var name = st < 0 ? "missing" : M.statuses[st];
          var cell = el("span", "cell c-" + name, st < 0 ? "·" : symbols[name]);
          if (st >= 0) {
            cell.dataset.at = String(at);
            cell.title = host + " · " + M.controls[c2].id + ": " + name +
              "\nexpected: " + str(M.expected[at]) + "\nobserved: " + str(M.observed[at]);
          }
          td.appendChild(cell);
          tr.appendChild(td);
        }
        body.appendChild(tr);
      });
      table.appendChild(body);
      document.getElementById("matrix").replaceChildren(table);
    };
    var showCell = function (at) {
      var h = Math.floor(at / C), c = at % C, ctl = M.controls[c], st = M.statuses[M.status[at]];
      var box = document.getElementById("cell-detail");
      var dl = el("dl");
      function row(name, text) { if (text) { dl.appendChild(el("dt", null, name)); dl.appendChild(el("dd", null, text)); } }
      box.replaceChildren(el("h3", null, M.hosts[h] + " · " + ctl.id + (ctl.title ? ": " + ctl.title : "")));
      row("verdict", st);
      row("severity", ctl.severity);
      row("expected", str(M.expected[at]));
      row("observed", str(M.observed[at]));
      row("remediation", ctl.remediation);
      box.appendChild(dl);
      if (ctl.refs.length) box.appendChild(refLinks(ctl.refs));
      box.hidden = false;
    };
    document.getElementById("matrix").addEventListener("click", function (ev) {
      var cell = ev.target.closest(".cell[data-at]");
      if (!cell) return;
      Array.prototype.forEach.call(document.querySelectorAll(".cell.selected"), function (o) { o.classList.remove("selected"); });
      cell.classList.add("selected");
      showCell(+cell.dataset.at);
    });
    document.getElementById("matrix-host").addEventListener("input", debounce(drawMatrix, 120));
    document.getElementById("matrix-failing").addEventListener("change", drawMatrix);
    // Thousands of cells cost a second of layout: draw them when the matrix comes near the
    // screen (or before printing), not while the page loads.
    var drawn = false;
    var drawOnce = function () { if (!drawn) { drawn = true; drawMatrix(); } };
    window.addEventListener("beforeprint", drawOnce);
    window.matchMedia("print").addEventListener("change", function (m) { if (m.matches) drawOnce(); });
    if ("IntersectionObserver" in window) {
      var watcher = new IntersectionObserver(function (entries) {
        if (entries.some(function (e) { return e.isIntersecting; })) { watcher.disconnect(); drawOnce(); }
      }, { rootMargin: "600px" });
      watcher.observe(document.getElementById("matrix"));
    } else {
      drawOnce();
    }
  }
  performance.mark("report-ready");
  document.body.dataset.ready = "1";
})();
