// GeoVigie evidence map: draws window.GEOVIGIE_MAP (set by ui/map.py) with the vendored Leaflet.
// Loaded after leaflet.js; when Leaflet is missing it shows the static PNG rendering instead.
// Images are Web Mercator pictures with the exact bounds of their pixel edges: L.imageOverlay places them
// where they belong, under the vectors (panes keep rasters below results whatever the layer order).
(function () {
var data = window.GEOVIGIE_MAP;
var box = document.getElementById('map');
function fallback() {
  box.innerHTML = data.static ? '<img alt="static map" style="max-width:100%" src="' + data.static + '">'
    : '<p class="empty">Map unavailable (Leaflet did not load).</p>';
}
function esc(s) { return String(s).replace(/[&<>"']/g, function (c) {
  return {'&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;'}[c]; }); }
function swatch(color, dashed, fill) { return '<span class="sw" style="border-color:' + esc(color)
  + (dashed ? ';border-style:dashed' : ';background:' + esc(color) + (fill ? '' : '55')) + '"></span>'; }
function named(label, title) { return '<span title="' + esc(title) + '">' + esc(label) + '</span>'; }
function llb(b) { return [[b[1], b[0]], [b[3], b[2]]]; }

if (typeof L === 'undefined') { fallback(); } else {
  var map = L.map('map', {attributionControl: true, maxZoom: 23, zoomSnap: 0.25});
  map.attributionControl.setPrefix(false);
  [['context', 200], ['rasters', 350], ['vectors', 450], ['boxes', 460]].forEach(function (p) {
    map.createPane(p[0]).style.zIndex = p[1];
  });
  // Vector layers need a view before they are added.
  if (data.bounds) { map.fitBounds(llb(data.bounds), {padding: [16, 16], maxZoom: 21, animate: false}); }
  else { map.setView([20, 0], 2); }
  var overlays = {}, state = {map: map, images: [], vectors: [], boxes: []};
  window.geovigie = state;  // for people debugging and for the browser tests (layer bounds)
  if (data.tiles) {
    L.tileLayer(data.tiles, {maxZoom: 23, maxNativeZoom: 19, attribution: esc(data.attribution)}).addTo(map);
  } else if (data.context) {
    // Offline context: coarse country outlines under the imagery (never over it: they are approximate).
    var context = L.geoJSON(null, {pane: 'context', interactive: false,
      style: function () { return {color: '#8a9aa6', weight: 1, fillColor: '#f4f2ec', fillOpacity: 1}; }});
    context.addTo(map);
    map.attributionControl.addAttribution(esc(data.context_label));
    fetch(data.context).then(function (r) { return r.ok ? r.json() : null; })
      .then(function (g) { if (g) { context.addData(g); } }).catch(function () {});
  }
  data.images.forEach(function (im) {
    var layer = L.imageOverlay(im.url, llb(im.bbox), {pane: 'rasters', opacity: 1, alt: im.title});
    if (im.visible) { layer.addTo(map); }
    overlays['&#9635; ' + named(im.label, im.title)] = layer;
    state.images.push({title: im.title, role: im.role, layer: layer, legend: im.legend});
  });
  // Change polygons carry their direction ("built-up gain"...): draw them in the overlay's colour for it.
  var keyed = [];
  data.images.forEach(function (im) { (im.legend || []).forEach(function (e) { keyed.push(e); }); });
  function featureColor(f, fallback) {
    var d = f && f.properties && f.properties.direction;
    for (var i = 0; d && i < keyed.length; i++) { if (String(keyed[i][0]).indexOf(d) === 0) { return keyed[i][1]; } }
    return fallback;
  }
  data.vectors.forEach(function (v) {
    function popup(f, l) {
      var p = f.properties || {}, keys = Object.keys(p).slice(0, 8);
      if (keys.length) { l.bindPopup('<b>' + esc(v.title) + '</b><br>' + keys.map(function (k) {
        return esc(k) + ': ' + esc(p[k]); }).join('<br>')); }
    }
    // A dark casing under a light line: visible on bright and dark, true- and false-colour imagery.
    var casing = L.geoJSON(v.geojson, {pane: 'vectors', interactive: false,
      style: function () { return {color: '#111', weight: 4.5, opacity: 0.7, fill: false}; },
      pointToLayer: function (f, ll) { return L.circleMarker(ll, {radius: 6, color: '#111', weight: 4, fill: false}); }});
    var line = L.geoJSON(v.geojson, {pane: 'vectors',
      style: function (f) { var c = featureColor(f, v.color);
        return {color: c, weight: 2, fillColor: c, fillOpacity: 0.12}; },
      pointToLayer: function (f, ll) { return L.circleMarker(ll, {radius: 6, color: v.color, weight: 2}); },
      onEachFeature: popup});
    var layer = L.featureGroup([casing, line]).addTo(map);
    overlays[swatch(v.color, false) + named(v.label, v.title)] = layer;
    state.vectors.push({title: v.title, layer: line});
  });
  data.boxes.forEach(function (bx) {
    var b = bx.bbox, parts = [L.rectangle(llb(b), {pane: 'boxes', color: bx.color, weight: 2,
      dashArray: bx.dashed ? '6 4' : null, fill: !bx.dashed, fillOpacity: 0.08})];
    if (bx.marker) {
      parts.push(L.circleMarker([(b[1] + b[3]) / 2, (b[0] + b[2]) / 2], {pane: 'boxes', radius: 4, color: bx.color}));
    }
    var layer = L.featureGroup(parts).bindTooltip(esc(bx.title)).addTo(map);
    var name = swatch(bx.color, bx.dashed) + esc(bx.title), n = 2;
    while (overlays[name]) { name = swatch(bx.color, bx.dashed) + esc(bx.title) + ' (' + (n++) + ')'; }
    overlays[name] = layer;
    state.boxes.push({title: bx.title, layer: layer});
  });
  if (Object.keys(overlays).length && Object.keys(overlays).length <= 24) {
    L.control.layers(null, overlays, {collapsed: true}).addTo(map);
  }
  L.control.scale({imperial: false}).addTo(map);
  addTools(map, state);
  addLegend(map, state, data);
}

// Before/after toggle and opacity slider: one small control, only with what the map has.
function addTools(map, state) {
  var before = state.images.filter(function (i) { return i.role === 'before'; })[0];
  var after = state.images.filter(function (i) { return i.role === 'after'; })[0];
  var results = state.images.filter(function (i) { return i.role === 'overlay'; });
  var faded = results.length ? results : state.images;
  if (!faded.length) { return; }
  var ctl = L.control({position: 'topleft'});
  ctl.onAdd = function () {
    var div = L.DomUtil.create('div', 'leaflet-bar gv-tools');
    var html = '';
    if (before && after) {
      html += '<div class="gv-pair" role="group" aria-label="Date shown">'
        + '<button type="button" data-show="before">Before</button>'
        + '<button type="button" data-show="after" class="on">After</button></div>';
    }
    html += '<label class="gv-opacity">' + (results.length ? 'Result' : 'Image')
      + ' opacity <input type="range" min="0" max="100" value="100" aria-label="Overlay opacity"></label>';
    div.innerHTML = html;
    L.DomEvent.disableClickPropagation(div);
    L.DomEvent.disableScrollPropagation(div);
    div.querySelector('input').addEventListener('input', function (e) {
      faded.forEach(function (i) { i.layer.setOpacity(e.target.value / 100); });
    });
    Array.prototype.forEach.call(div.querySelectorAll('.gv-pair button'), function (btn) {
      btn.addEventListener('click', function () {
        var show = btn.getAttribute('data-show') === 'before' ? before : after;
        var hide = show === before ? after : before;
        map.removeLayer(hide.layer); show.layer.addTo(map);
        Array.prototype.forEach.call(div.querySelectorAll('.gv-pair button'), function (b) {
          b.classList.toggle('on', b === btn); });
      });
    });
    return div;
  };
  ctl.addTo(map);
}

// The legend as a map control: colour keys of the visible images, then vectors and boxes, then notes.
function addLegend(map, state, data) {
  var ctl = L.control({position: 'bottomright'}), div;
  function draw() {
    var rows = [];
    state.images.forEach(function (i) {
      if (!map.hasLayer(i.layer)) { return; }
      (i.legend || []).forEach(function (e) { rows.push(swatch(e[1], false, true) + esc(e[0])); });
    });
    data.vectors.forEach(function (v) { rows.push(swatch(v.color, false) + named(v.label, v.title)); });
    data.boxes.slice(0, 6).forEach(function (b) { rows.push(swatch(b.color, b.dashed) + esc(b.title)); });
    if (data.boxes.length > 6) { rows.push('+ ' + (data.boxes.length - 6) + ' more footprints'); }
    (data.notes || []).forEach(function (n) { rows.push('<span class="note">' + esc(n) + '</span>'); });
    div.innerHTML = rows.map(function (r) { return '<div>' + r + '</div>'; }).join('');
    div.style.display = rows.length ? '' : 'none';
  }
  ctl.onAdd = function () {
    div = L.DomUtil.create('div', 'gv-legend');
    L.DomEvent.disableScrollPropagation(div);
    return div;
  };
  ctl.addTo(map);
  draw();
  map.on('layeradd layerremove', draw);
}
})();
