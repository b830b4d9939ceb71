// The query editor: YASGUI (shipped with the node) on this node's /sparql, opening with the school
// question (or the query of a shared link), completing the standard's prefixes from the node (no
// prefix.cc, no LOV: nothing leaves the node). Results: a table whose IRIs open the node's page of
// the resource and whose language tags read as language names, a bar chart of a numeric column,
// downloads in every format the endpoint answers in, and a link that reopens the same query.
(function () {
  "use strict";
  var root = document.getElementById("yasgui");
  if (!root || !window.Yasgui) return;
  var examples = JSON.parse(document.getElementById("example-data").textContent || "[]");
  var prefixes = JSON.parse(document.getElementById("prefix-data").textContent || "{}");
  var downloadFormats = JSON.parse(document.getElementById("format-data").textContent || "{}");
  var endpointPath = root.getAttribute("data-endpoint");
  var endpoint = new URL(endpointPath, document.location.href).href;
  var resourcePath = root.getAttribute("data-resource");
  var lang = document.documentElement.lang || "en";
  var languageNames = null;
  try { languageNames = new Intl.DisplayNames([lang], { type: "language" }); } catch (e) { languageNames = null; }
  var shared = new URLSearchParams(document.location.search).get("query");

  function esc(text) {
    return String(text).replace(/[&<>"']/g, function (c) {
      return { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" }[c];
    });
  }
  function shortName(iri, known) {
    for (var name in known) {
      if (known[name] && iri.indexOf(known[name]) === 0 && iri.length > known[name].length) {
        return name + ":" + iri.slice(known[name].length);
      }
    }
    return null;
  }
  function languageName(tag) {
    try { return (languageNames && languageNames.of(tag)) || tag; } catch (e) { return tag; }
  }

  // The table: every IRI a link to this node's page of it; a literal's language said in words.
  var Table = Yasgui.Yasr.plugins.table;
  Table.prototype.getUriLinkFromBinding = function (binding, known) {
    var iri = binding.value;
    var href = resourcePath + "?iri=" + encodeURIComponent(iri);
    return "<a class='iri' href='" + esc(href) + "' title='" + esc(iri) + "' data-iri='" + esc(iri) + "'>" +
      esc(shortName(iri, known || prefixes) || iri) + "</a>";
  };
  Table.prototype.formatLiteral = function (binding, known) {
    var value = esc(binding.value);
    var tag = binding["xml:lang"];
    if (tag) {
      return "<span lang='" + esc(tag) + "'>" + value + "</span> <span class='lang-tag' title='@" + esc(tag) +
        "'>" + esc(languageName(tag)) + "</span>";
    }
    var type = binding.datatype;
    if (type && type.indexOf("http://www.w3.org/2001/XMLSchema#") !== 0) {  // xsd numbers, dates: the value says it
      return value + " <span class='datatype' title='" + esc(type) + "'>" + esc(shortName(type, known || prefixes) || type) +
        "</span>";
    }
    return value;
  };

  Yasgui.Yasqe.defaults.autocompleters = ["prefixes", "variables", "keywords"].filter(function (name) {
    return Yasgui.Yasqe.Autocompleters && Yasgui.Yasqe.Autocompleters[name];
  });
  var yasgui = new Yasgui(root, {
    requestConfig: { endpoint: endpoint, method: "POST" },
    copyEndpointOnNewTab: false,
    endpointCatalogueOptions: { getData: function () { return [{ endpoint: endpoint }]; } },
    persistenceId: null,
    populateFromUrl: false,
    yasqe: { value: shared || (examples.length ? examples[0].query : "SELECT * WHERE { ?s ?p ?o } LIMIT 10"),
             prefixCcApi: root.getAttribute("data-prefixes") },
    yasr: { prefixes: prefixes }
  });
  window.ecgraphYasgui = yasgui;
  if (shared && yasgui.getTab().getQuery() !== shared) yasgui.getTab().setQuery(shared);

  // names for the controls YASGUI draws without one (axe-core: every field has a label)
  function label() {
    var field = root.querySelector(".CodeMirror textarea");
    if (field) field.setAttribute("aria-label", "SPARQL query");
    root.querySelectorAll("input.autocomplete").forEach(function (input) { input.setAttribute("aria-label", "SPARQL endpoint"); });
    root.querySelectorAll(".CodeMirror-scroll").forEach(function (el) { el.setAttribute("tabindex", "0"); });
    root.querySelectorAll("select.tableSizer").forEach(function (el) { el.setAttribute("aria-label", "Page size"); });
    root.querySelectorAll("input.tableFilter").forEach(function (el) { el.setAttribute("aria-label", "Filter query results"); });
  }
  label();
  new MutationObserver(label).observe(root, { childList: true, subtree: true });
  document.getElementById("load-example").addEventListener("click", function () {
    var ex = examples[parseInt(document.getElementById("examples").value, 10)];
    if (ex) yasgui.getTab().setQuery(ex.query);
  });

  // A link that reopens the editor with this query.
  var shareLink = document.getElementById("share-link");
  var shareStatus = document.getElementById("share-status");
  document.getElementById("copy-link").addEventListener("click", function () {
    var url = new URL(document.location.pathname, document.location.href);
    url.searchParams.set("query", yasgui.getTab().getQuery());
    shareLink.value = url.href;
    shareLink.hidden = false;
    function copied() { shareStatus.textContent = shareStatus.getAttribute("data-copied"); }
    function byHand() { shareLink.select(); shareStatus.textContent = shareStatus.getAttribute("data-select"); }
    if (navigator.clipboard && navigator.clipboard.writeText) navigator.clipboard.writeText(url.href).then(copied, byHand);
    else byHand();
  });

  // After each answer: downloads in every format of its kind, and a chart of a numeric column.
  var tools = document.getElementById("result-tools");
  function drawDownloads(query, kind) {
    var holder = document.getElementById("download-links");
    holder.textContent = "";
    var offered = kind === "graph" ? downloadFormats.graph : downloadFormats.results;
    (offered || []).forEach(function (f, i) {
      var a = document.createElement("a");
      var url = new URL(endpointPath, document.location.href);
      url.searchParams.set("query", query);
      url.searchParams.set("format", f.key);
      a.href = url.pathname + url.search;
      a.download = "results." + f.extension;
      a.setAttribute("data-format", f.key);
      a.textContent = f.name;
      if (i) holder.appendChild(document.createTextNode(" · "));
      holder.appendChild(a);
    });
  }

  var NUMERIC = /#(integer|decimal|double|float|long|int|short|byte|nonNegativeInteger|positiveInteger|nonPositiveInteger|negativeInteger|unsignedLong|unsignedInt|unsignedShort|unsignedByte)$/;
  function numberOf(binding) {
    if (!binding || (binding.type !== "literal" && binding.type !== "typed-literal")) return null;
    if (binding.datatype && !NUMERIC.test(binding.datatype)) return null;
    var value = Number(binding.value);
    return binding.value.trim() !== "" && isFinite(value) ? value : null;
  }
  function cellText(binding) {
    if (!binding) return "";
    if (binding.type === "uri") return shortName(binding.value, prefixes) || binding.value;
    return binding.value;
  }
  var SVG = "http://www.w3.org/2000/svg";
  function svg(name, attributes, text) {
    var el = document.createElementNS(SVG, name);
    for (var key in attributes) el.setAttribute(key, attributes[key]);
    if (text !== undefined) el.textContent = text;
    return el;
  }
  function drawChart(variables, bindings) {
    var figure = document.getElementById("chart-figure");
    var select = document.getElementById("chart-column");
    var controls = document.getElementById("chart-controls");
    var none = document.getElementById("chart-none");
    figure.textContent = "";
    var numeric = variables.filter(function (v) {
      var seen = bindings.filter(function (b) { return b[v]; });
      return seen.length > 0 && seen.every(function (b) { return numberOf(b[v]) !== null; });
    });
    // the bars are named by the first column of words (a name, a title), else the first other column
    var others = variables.filter(function (v) { return numeric.indexOf(v) < 0; });
    var labelled = others.filter(function (v) {
      return bindings.some(function (b) { return b[v] && b[v].type !== "uri" && b[v].type !== "bnode"; });
    })[0] || others[0];
    none.hidden = numeric.length > 0;
    controls.hidden = numeric.length < 2;
    if (!numeric.length) return;
    var previous = select.value;
    select.textContent = "";
    numeric.forEach(function (v) { var o = document.createElement("option"); o.value = v; o.textContent = v; select.appendChild(o); });
    if (numeric.indexOf(previous) >= 0) select.value = previous;
    var column = select.value || numeric[0];
    var rows = bindings.filter(function (b) { return b[column]; }).slice(0, 30);
    var values = rows.map(function (b) { return numberOf(b[column]); });
    var peak = Math.max.apply(null, values.map(Math.abs)) || 1;
    var width = 680, bar = 18, gap = 6, left = 240, top = 8;
    var height = top * 2 + rows.length * (bar + gap);
    var description = rows.map(function (b, i) { return (labelled ? cellText(b[labelled]) : String(i + 1)) + ": " + values[i]; }).join("; ");
    var chart = svg("svg", { "class": "chart results-chart", viewBox: "0 0 " + width + " " + height, role: "img",
                             "aria-label": column + ": " + description, "data-bars": String(rows.length),
                             "data-column": column });
    chart.appendChild(svg("title", {}, column + ": " + description));
    rows.forEach(function (b, i) {
      var y = top + i * (bar + gap);
      var name = labelled ? cellText(b[labelled]) : String(i + 1);
      var length = (width - left - 70) * Math.abs(values[i]) / peak;
      chart.appendChild(svg("text", { x: String(left - 6), y: String(y + bar - 5), "font-size": "12", "text-anchor": "end", fill: "#1d2a30" },
                            name.length > 32 ? name.slice(0, 31) + "…" : name));
      chart.appendChild(svg("rect", { x: String(left), y: String(y), width: length.toFixed(1), height: String(bar), fill: "#1f7a4d",
                                      "class": "bar" }));
      chart.appendChild(svg("text", { x: (left + length + 4).toFixed(1), y: String(y + bar - 5), "font-size": "12", fill: "#1d2a30" },
                            String(values[i])));
    });
    figure.appendChild(chart);
  }
  var last = null;
  document.getElementById("chart-column").addEventListener("change", function () {
    if (last) drawChart(last.variables, last.bindings);
  });
  function answered(tab) {
    var query = tab.getQuery();
    var type = (tab.getYasqe().getQueryType() || "SELECT").toUpperCase();
    var kind = type === "CONSTRUCT" || type === "DESCRIBE" ? "graph" : "results";
    drawDownloads(query, kind);
    tools.hidden = false;
    var results = tab.getYasr().results;
    var chartSection = document.getElementById("chart");
    if (kind === "results" && type === "SELECT" && results && !results.getError()) {
      last = { variables: results.getVariables() || [], bindings: results.getBindings() || [] };
      chartSection.hidden = false;
      drawChart(last.variables, last.bindings);
    } else {
      last = null;
      chartSection.hidden = true;
    }
  }
  // the tab tells of the answer before its results are parsed: look at them once they are
  yasgui.on("queryResponse", function (instance, tab) { setTimeout(function () { answered(tab); }, 0); });
})();
