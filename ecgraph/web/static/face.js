// The web face's little script: the map of communities (Leaflet, shipped with the node) over the
// bundled country outlines, with tiles only when the node is configured with a tile server; and
// facet checkboxes that apply themselves. Without script the pages work as plain forms and lists.
(function () {
  "use strict";

  function drawMap(element) {
    if (!window.L || !element) return;
    var data = document.getElementById(element.getAttribute("data-points-from") || "map-points");
    var points = data ? JSON.parse(data.textContent) : [];
    var countries = (element.getAttribute("data-countries") || "").split(" ").filter(Boolean);
    var map = L.map(element, { scrollWheelZoom: false, attributionControl: true });
    var tiles = element.getAttribute("data-tiles");
    if (tiles) {
      L.tileLayer(tiles, { maxZoom: 18, attribution: "map tiles: " + new URL(tiles.replace("{s}", "a")).host }).addTo(map);
    }
    var bounds = points.filter(function (p) { return p.lat !== null && p.lon !== null; })
      .map(function (p) { return [p.lat, p.lon]; });
    function fit() {
      if (bounds.length) map.fitBounds(bounds, { padding: [30, 30], maxZoom: 12 });
      else map.setView([50.6, 4.5], 6);
    }
    fit();  // a map with a view draws its layers at once
    points.forEach(function (p) {
      if (p.lat === null || p.lon === null) return;
      var marker = L.circleMarker([p.lat, p.lon], { radius: 7, color: "#0d4a2c", weight: 2, fillColor: "#1f7a4d", fillOpacity: 0.85 });
      var link = document.createElement("a");
      link.href = "/resource?iri=" + encodeURIComponent(p.iri);
      link.textContent = p.name;
      marker.bindPopup(link);
      marker.bindTooltip(p.name);
      marker.addTo(map);
      if (marker._path) {
        marker._path.setAttribute("data-iri", p.iri);
        marker._path.setAttribute("role", "img");
        marker._path.setAttribute("aria-label", p.name);
      }
    });
    var outline = element.getAttribute("data-outline");
    if (outline && !tiles) {
      fetch(outline).then(function (r) { return r.json(); }).then(function (geo) {
        var wanted = geo.features.filter(function (f) { return countries.indexOf(f.id) >= 0; });
        L.geoJSON({ type: "FeatureCollection", features: wanted.length ? wanted : geo.features }, {
          style: { color: "#6d8a7a", weight: 1, fillColor: "#f4f7f2", fillOpacity: 1 },
          interactive: false
        }).addTo(map).bringToBack();
        element.setAttribute("data-outline-drawn", String(wanted.length));
      });
    }
    element.setAttribute("data-markers", String(bounds.length));
  }

  document.querySelectorAll("[data-map]").forEach(drawMap);
  drawMap(document.getElementById("map"));

  var form = document.getElementById("directory-form");
  if (form) {
    form.querySelectorAll("input[type=checkbox][data-facet]").forEach(function (box) {
      box.addEventListener("change", function () { form.submit(); });
    });
  }
})();
