// The query editor: runs the query with fetch() and renders SPARQL JSON as a table.
// Without JavaScript the form still works: it submits to /sparql and shows the raw result.
(function () {
  "use strict";
  var form = document.getElementById("query-form");
  if (!form) { return; }
  var text = document.getElementById("query-text");
  var format = document.getElementById("query-format");
  var status = document.getElementById("status");
  var out = document.getElementById("results");
  var examples = JSON.parse(document.getElementById("example-data").textContent || "[]");

  document.getElementById("examples").addEventListener("change", function (e) {
    var ex = examples[parseInt(e.target.value, 10)];
    if (ex) { text.value = ex.query; }
  });

  function cell(term) {
    if (!term) { return ""; }
    if (term.type === "uri") { return term.value; }
    if (term.type === "bnode") { return "_:" + term.value; }
    var v = term.value;
    if (term["xml:lang"]) { v += " @" + term["xml:lang"]; }
    return v;
  }

  function table(data) {
    var t = document.createElement("table");
    t.id = "result-table";
    var head = t.createTHead().insertRow();
    if (typeof data.boolean === "boolean") {
      head.insertCell().textContent = "answer";
      t.insertRow().insertCell().textContent = String(data.boolean);
      return t;
    }
    data.head.vars.forEach(function (v) {
      var th = document.createElement("th"); th.textContent = v; head.appendChild(th);
    });
    var body = t.createTBody();
    data.results.bindings.forEach(function (b) {
      var row = body.insertRow();
      data.head.vars.forEach(function (v) { row.insertCell().textContent = cell(b[v]); });
    });
    return t;
  }

  form.addEventListener("submit", function (e) {
    if (format.value) { return; } // a raw format: let the browser show it
    e.preventDefault();
    status.textContent = "running…";
    out.innerHTML = "";
    var started = performance.now();
    fetch("/sparql", {
      method: "POST",
      headers: {"Content-Type": "application/sparql-query",
                "Accept": "application/sparql-results+json, text/turtle;q=0.5"},
      body: text.value
    }).then(function (r) {
      var type = r.headers.get("Content-Type") || "";
      return (type.indexOf("json") >= 0 ? r.json() : r.text()).then(function (body) {
        return {ok: r.ok, status: r.status, body: body, truncated: r.headers.get("X-ECGraph-Truncated")};
      });
    }).then(function (res) {
      var ms = Math.round(performance.now() - started);
      if (!res.ok) {
        status.textContent = "error " + res.status;
        var p = document.createElement("pre"); p.className = "error";
        p.textContent = res.body.detail || JSON.stringify(res.body);
        out.appendChild(p);
        return;
      }
      if (typeof res.body === "string") {
        var pre = document.createElement("pre"); pre.textContent = res.body; out.appendChild(pre);
        status.textContent = "done in " + ms + " ms";
        return;
      }
      out.appendChild(table(res.body));
      var n = res.body.results ? res.body.results.bindings.length : 1;
      status.textContent = n + " row(s) in " + ms + " ms" + (res.truncated ? " (cut at the row limit)" : "");
    }).catch(function (err) { status.textContent = "failed: " + err; });
  });
})();
