(function () {
  "use strict";
  function byId(id) { return document.getElementById(id); }
  function el(tag, cls, text) {
    var e = document.createElement(tag);
    if (cls) { e.className = cls; }
    if (text !== undefined && text !== null) { e.textContent = String(text); }
    return e;
  }
  function sim(x) { return typeof x === "number" ? x.toFixed(3) : "\u2013"; }
  function plural(n, word) { return n + " " + word + (n === 1 ? "" : "s"); }

  var data = null;
  try {
    var blob = byId("clusters-data");
    data = blob ? JSON.parse(blob.textContent) : null;
  } catch (err) {
    data = null;
  }
  var clusters = (data && Array.isArray(data.clusters)) ? data.clusters : [];
  var perPage = (data && data.per_page > 0) ? data.per_page : 20;
  var pages = Math.max(1, Math.ceil(clusters.length / perPage));
  var page = 0;

  function fill(cell, value) {
    if (typeof value === "string") { cell.textContent = value; return; }
    if (!Array.isArray(value)) { return; }
    for (var i = 0; i < value.length; i++) {
      var seg = value[i];
      if (seg[0]) { cell.appendChild(el("span", "hl", seg[1])); }
      else { cell.appendChild(document.createTextNode(seg[1])); }
    }
  }
  function side(tr, ln, cls, value) {
    tr.appendChild(el("td", "ln", ln === null ? "" : ln));
    var td = el("td", "txt" + (cls ? " " + cls : ""));
    if (value !== null) { fill(td, value); }
    tr.appendChild(td);
  }
  function diffTable(rows, leftTitle, rightTitle) {
    var table = el("table", "diff-table");
    var cols = el("colgroup");
    ["ln", "txt", "ln", "txt"].forEach(function (c) { cols.appendChild(el("col", c)); });
    table.appendChild(cols);
    var head = el("thead"), hr = el("tr");
    var th1 = el("th", null, leftTitle); th1.colSpan = 2;
    var th2 = el("th", null, rightTitle); th2.colSpan = 2;
    hr.appendChild(th1); hr.appendChild(th2); head.appendChild(hr); table.appendChild(head);
    var body = el("tbody");
    for (var i = 0; i < rows.length; i++) {
      var r = rows[i], tr = el("tr"), op = r[0];
      if (op === "e") { side(tr, r[1], "", r[3]); side(tr, r[2], "", r[3]); }
      else if (op === "d") { side(tr, r[1], "del", r[2]); side(tr, null, "empty", null); }
      else if (op === "i") { side(tr, null, "empty", null); side(tr, r[1], "ins", r[2]); }
      else if (op === "r") { side(tr, r[1], "del", r[2]); side(tr, r[3], "ins", r[4]); }
      else {
        var text = op === "s" ? "\u2026 " + plural(r[1], "equal line") + " \u2026"
          : "\u2026 diff cut here: " + plural(r[1], "more row") + " \u2026";
        var td = el("td", "skip", text); td.colSpan = 4; tr.appendChild(td);
      }
      body.appendChild(tr);
    }
    table.appendChild(body);
    return table;
  }
  function removedBox(c, r, refTitle) {
    var box = el("div", "diff");
    box.setAttribute("data-cluster", String(c.id));
    box.setAttribute("data-removed", String(r.id));
    var head = el("div", "diff-head");
    head.appendChild(el("strong", null, (r.reference ? "reference " : "removed ") + r.id));
    if (r.reason) { head.appendChild(el("span", "tag", r.reason)); }
    var bits = [" J = " + sim(r.similarity)];
    if (typeof r.ins === "number") { bits.push("+" + r.ins + " / \u2212" + r["del"] + " lines"); }
    head.appendChild(document.createTextNode(bits.join(" \u00b7 ")));
    box.appendChild(head);
    if (r.reference) {
      box.appendChild(el("p", "note", "Nothing was kept in this cluster; the other documents "
        + "are compared with this one."));
    } else if (r.missing) {
      box.appendChild(el("p", "note", "The text of this document was not found in the outputs."));
    } else if (r.identical) {
      box.appendChild(el("p", "note", "Identical text (" + plural(r.rows[0][1], "line") + ")."));
    } else {
      box.appendChild(diffTable(r.rows || [], refTitle, "removed: " + r.id));
      if (r.cut) {
        box.appendChild(el("p", "note", "Long document: only its beginning is compared."));
      }
    }
    return box;
  }
  function clusterCard(c) {
    var sec = el("section", "cluster");
    sec.id = "cluster-" + c.id;
    sec.appendChild(el("h4", null, "Cluster " + c.id));
    var kept = c.kept_id === null ? "nothing kept" : "kept " + c.kept_id;
    sec.appendChild(el("div", "meta", plural(c.size, "document") + " \u00b7 " + kept
      + " \u00b7 similarity " + sim(c.min) + "\u2013" + sim(c.max)));
    var ref = c.reference;
    var refTitle = (c.kept_id === null ? "reference: " : "kept: ") + (ref ? ref.id : "?");
    if (ref && !ref.missing) {
      var det = el("details");
      var info = plural(ref.lines, "line")
        + (ref.chars !== null ? ", " + ref.chars + " characters" : "");
      det.appendChild(el("summary", null, refTitle + " (" + info + ")"));
      det.appendChild(el("pre", "doc", ref.text + (ref.truncated ? "\n\u2026" : "")));
      sec.appendChild(det);
    } else if (ref) {
      sec.appendChild(el("p", "note", "The text of " + ref.id + " was not found in the outputs."));
    }
    (c.removed || []).forEach(function (r) { sec.appendChild(removedBox(c, r, refTitle)); });
    if (c.more_removed > 0) {
      var more = plural(c.more_removed, "more removed document");
      sec.appendChild(el("p", "note", "\u2026 and " + more + " (see clusters.jsonl)."));
    }
    return sec;
  }
  function render() {
    var list = byId("cluster-list");
    if (!list) { return; }
    list.textContent = "";
    var start = page * perPage, end = Math.min(clusters.length, start + perPage);
    var frag = document.createDocumentFragment();
    for (var i = start; i < end; i++) {
      try { frag.appendChild(clusterCard(clusters[i])); }
      catch (err) { frag.appendChild(el("p", "note", "Cluster " + i + " could not be shown.")); }
    }
    list.appendChild(frag);
    var label = clusters.length
      ? "Page " + (page + 1) + " of " + pages + " \u00b7 clusters " + (start + 1) + "\u2013" + end
        + " of " + clusters.length
      : "";
    document.querySelectorAll(".page-counter").forEach(function (e) { e.textContent = label; });
    document.querySelectorAll("[data-page=prev]").forEach(function (b) { b.disabled = page <= 0; });
    document.querySelectorAll("[data-page=next]").forEach(function (b) {
      b.disabled = page >= pages - 1;
    });
  }
  function go(p, scroll) {
    page = Math.max(0, Math.min(pages - 1, p));
    render();
    var list = byId("clusters");
    if (scroll && list) { list.scrollIntoView(); }
  }
  function showHash() {
    var m = /^#cluster-(.+)$/.exec(window.location.hash || "");
    if (!m) { return false; }
    var id = decodeURIComponent(m[1]);
    for (var i = 0; i < clusters.length; i++) {
      if (String(clusters[i].id) === id) {
        page = Math.floor(i / perPage);
        render();
        var target = byId("cluster-" + id);
        if (target) { target.scrollIntoView(); }
        return true;
      }
    }
    return false;
  }
  try {
    document.querySelectorAll("[data-page]").forEach(function (b) {
      b.addEventListener("click", function () {
        go(page + (b.getAttribute("data-page") === "next" ? 1 : -1), !b.id);
      });
    });
    window.addEventListener("hashchange", function () {
      try { showHash(); } catch (err) { /* leave the page as it is */ }
    });
    document.addEventListener("click", function (ev) {
      // a link to the cluster already in the address bar fires no hashchange: open it here
      var a = ev.target && ev.target.closest ? ev.target.closest("a[href^='#cluster-']") : null;
      if (a && a.getAttribute("href") === window.location.hash) {
        ev.preventDefault();
        try { showHash(); } catch (err) { /* leave the page as it is */ }
      }
    });
    if (!showHash()) { render(); }
  } catch (err) {
    var list = byId("cluster-list");
    if (list) { list.textContent = "The clusters could not be shown: " + err; }
  }
})();
