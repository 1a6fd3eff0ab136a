// GeoVigie evidence map: draws window.GEOVIGIE_MAP (set by ui/map.py) with the vendored Leaflet.
// Loaded after leaflet.js; when Leaflet is missing it shows the static PNG rendering instead.
(function () {
var data = window.GEOVIGIE_MAP;
var box = document.getElementById('map');
function fallback() {
  box.innerHTML = data.static ? '<img alt="static map" style="max-width:100%" src="' + data.static + '">'
    : '<p class="empty">Map unavailable (Leaflet did not load).</p>';
}
if (typeof L === 'undefined') { fallback(); } else {
  var map = L.map('map', {preferCanvas: false, attributionControl: !!data.tiles, maxZoom: 23});
  // Vector layers need a view before they are added.
  if (data.bounds) {
    var bb = data.bounds;
    map.fitBounds([[bb[1], bb[0]], [bb[3], bb[2]]], {padding: [12, 12], maxZoom: 21, animate: false});
  } else { map.setView([20, 0], 2); }
  if (data.tiles) {
    L.tileLayer(data.tiles, {maxZoom: 23, maxNativeZoom: 19, attribution: data.attribution}).addTo(map);
  }
  var overlays = {};
  function esc(s) { return String(s).replace(/[&<>"']/g, function (c) {
    return {'&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;'}[c]; }); }
  function swatch(color, dashed) { return '<span class="sw" style="border-color:' + color
    + (dashed ? ';border-style:dashed' : ';background:' + color + '55') + '"></span>'; }
  data.images.forEach(function (im) {
    var b = im.bbox, layer = L.imageOverlay(im.url, [[b[1], b[0]], [b[3], b[2]]], {opacity: 0.95});
    if (im.visible) { layer.addTo(map); }
    overlays['&#9635; ' + esc(im.title)] = layer;
  });
  data.vectors.forEach(function (v) {
    var layer = L.geoJSON(v.geojson, {
      style: function () { return {color: v.color, weight: 2, fillOpacity: 0.25}; },
      pointToLayer: function (f, ll) { return L.circleMarker(ll, {radius: 5, color: v.color}); },
      onEachFeature: function (f, l) {
        var p = f.properties || {}, keys = Object.keys(p).slice(0, 8);
        if (keys.length) { l.bindPopup('<b>' + esc(v.title) + '</b><br>' + keys.map(function (k) {
          return esc(k) + ': ' + esc(p[k]); }).join('<br>')); }
      }
    }).addTo(map);
    overlays[swatch(v.color, false) + esc(v.title)] = layer;
  });
  data.boxes.forEach(function (bx) {
    var b = bx.bbox, parts = [L.rectangle([[b[1], b[0]], [b[3], b[2]]], {color: bx.color, weight: 2,
      dashArray: bx.dashed ? '6 4' : null, fill: !bx.dashed, fillOpacity: 0.08})];
    if (bx.marker) { parts.push(L.circleMarker([(b[1] + b[3]) / 2, (b[0] + b[2]) / 2], {radius: 4, color: bx.color})); }
    var layer = L.featureGroup(parts).bindTooltip(esc(bx.title)).addTo(map);
    var name = swatch(bx.color, bx.dashed) + esc(bx.title), n = 2;
    while (overlays[name]) { name = swatch(bx.color, bx.dashed) + esc(bx.title) + ' (' + (n++) + ')'; }
    overlays[name] = layer;
  });
  if (Object.keys(overlays).length && Object.keys(overlays).length <= 24) {
    L.control.layers(null, overlays, {collapsed: true}).addTo(map);  // the legend below names every layer
  }
  L.control.scale({imperial: false}).addTo(map);
}
})();
