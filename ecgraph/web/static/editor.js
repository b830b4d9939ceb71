// The query editor: YASGUI (shipped with the node) on this node's /sparql, opening with the school
// question, completing the standard's prefixes from the node (no prefix.cc, no LOV: nothing
// leaves the node), with results as a table, a chart-ready pivot, downloads and a share link.
(function () {
  "use strict";
  var root = document.getElementById("yasgui");
  if (!root || !window.Yasgui) return;
  var examples = JSON.parse(document.getElementById("example-data").textContent || "[]");
  var prefixes = JSON.parse(document.getElementById("prefix-data").textContent || "{}");
  var endpoint = new URL(root.getAttribute("data-endpoint"), document.location.href).href;
  Yasgui.Yasqe.defaults.autocompleters = ["prefixes", "variables", "keywords"].filter(function (name) {
    return Yasgui.Yasqe.Autocompleters && Yasgui.Yasqe.Autocompleters[name];
  });
  var yasgui = new Yasgui(root, {
    requestConfig: { endpoint: endpoint, method: "POST" },
    copyEndpointOnNewTab: false,
    endpointCatalogueOptions: { getData: function () { return [{ endpoint: endpoint }]; } },
    persistenceId: null,
    populateFromUrl: true,
    yasqe: { value: examples.length ? examples[0].query : "SELECT * WHERE { ?s ?p ?o } LIMIT 10",
             prefixCcApi: root.getAttribute("data-prefixes") },
    yasr: { prefixes: prefixes }
  });
  window.ecgraphYasgui = yasgui;
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
})();
