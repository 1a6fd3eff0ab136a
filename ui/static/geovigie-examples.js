// GeoVigie map examples: pick labelled points on the evidence map for map_from_examples.
// Loaded after geovigie-map.js when the map offers examples (window.GEOVIGIE_MAP.examples). The map is an
// <iframe srcdoc>, so it shares the chat page's origin: the points live in the page (window.parent.geovigieExamples)
// and survive the map being redrawn after each answer; the chat reads them when a question is sent
// (ui/app.py, EXAMPLES_JS) and "Map from examples" presses the chat's own button (#examples-run).
(function () {
var data = window.GEOVIGIE_MAP, state = window.geovigie;
if (!data || !data.examples || !state || typeof L === 'undefined') { return; }
var map = state.map;
var COLORS = ['#e69f00', '#56b4e9', '#009e73', '#cc79a7', '#f0e442', '#d55e00', '#0072b2', '#ffffff'];
var host = window;
try { if (window.parent && window.parent.document) { host = window.parent; } } catch (e) { host = window; }
if (!Array.isArray(host.geovigieExamples)) { host.geovigieExamples = []; }
var layer = L.layerGroup().addTo(map), picking = false, div;
state.examples = {layer: layer, list: function () { return host.geovigieExamples; }};

function esc(s) { return String(s).replace(/[&<>"']/g, function (c) {
  return {'&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;'}[c]; }); }
function labels() {
  var out = [];
  host.geovigieExamples.forEach(function (e) { if (out.indexOf(e.label) < 0) { out.push(e.label); } });
  return out;
}
function color(label) { return COLORS[Math.max(0, labels().indexOf(label)) % COLORS.length]; }
function publish() {
  // Also tell a parent on another origin (a page embedding the chat), which cannot read host.geovigieExamples.
  try { window.parent.postMessage({type: 'geovigie-examples', examples: host.geovigieExamples}, '*'); } catch (e) {}
  draw();
}
function draw() {
  layer.clearLayers();
  host.geovigieExamples.forEach(function (e, i) {
    var m = L.circleMarker([e.point[1], e.point[0]], {radius: 7, color: '#111', weight: 2, fillColor: color(e.label),
      fillOpacity: 1, pane: 'boxes', className: 'gv-example'});
    m.bindTooltip(esc(e.label) + ' (click to remove)');
    m.on('click', function (ev) {
      L.DomEvent.stop(ev);
      host.geovigieExamples.splice(i, 1);
      publish();
    });
    m.addTo(layer);
  });
  if (!div) { return; }
  var rows = labels().map(function (name) {
    var n = host.geovigieExamples.filter(function (e) { return e.label === name; }).length;
    return '<div><span class="sw" style="border-color:#111;background:' + esc(color(name)) + '"></span>'
      + esc(name) + ': ' + n + '</div>';
  });
  div.querySelector('.gv-ex-list').innerHTML = rows.join('') || '<div class="note">No examples yet.</div>';
  div.querySelector('.gv-ex-run').disabled = labels().length < 2;
  div.querySelector('.gv-ex-similar').disabled = !host.geovigieExamples.length;
}
// A question typed into the chat for the user (the chat's own input and Ask button: queued like any other).
function ask(text) {
  var box = null, send = null;
  try {
    box = host.document.querySelector('#chat-input textarea');
    send = host.document.getElementById('send');
  } catch (e) { return; }
  if (!box || !send) { return; }
  box.value = text;
  box.dispatchEvent(new Event('input', {bubbles: true}));
  send.click();
}
var ctl = L.control({position: 'topright'});
ctl.onAdd = function () {
  div = L.DomUtil.create('div', 'leaflet-bar gv-examples');
  div.innerHTML = '<b>Examples</b>'
    + '<label>Class <input type="text" class="gv-ex-class" maxlength="40" placeholder="e.g. water"></label>'
    + '<button type="button" class="gv-ex-pick" aria-pressed="false">Pick points</button>'
    + '<div class="gv-ex-list"></div>'
    + '<button type="button" class="gv-ex-clear">Clear</button>'
    + '<button type="button" class="gv-ex-run">Map from examples</button>'
    + '<button type="button" class="gv-ex-similar" title="Places like the last point">Find similar</button>';
  L.DomEvent.disableClickPropagation(div);
  L.DomEvent.disableScrollPropagation(div);
  var pick = div.querySelector('.gv-ex-pick');
  pick.addEventListener('click', function () {
    picking = !picking;
    pick.setAttribute('aria-pressed', String(picking));
    pick.classList.toggle('on', picking);
    pick.textContent = picking ? 'Picking… (click the map)' : 'Pick points';
    map.getContainer().style.cursor = picking ? 'crosshair' : '';
  });
  div.querySelector('.gv-ex-clear').addEventListener('click', function () {
    host.geovigieExamples.length = 0;
    publish();
  });
  div.querySelector('.gv-ex-similar').addEventListener('click', function () {
    var last = host.geovigieExamples[host.geovigieExamples.length - 1];
    if (last) { ask('Find other places like the one at ' + last.point[1] + ', ' + last.point[0]); }
  });
  div.querySelector('.gv-ex-run').addEventListener('click', function () {
    var run = null;
    try { run = host.document.getElementById('examples-run'); } catch (e) { run = null; }
    if (run) { run.click(); }
  });
  return div;
};
ctl.addTo(map);
map.on('click', function (ev) {
  if (!picking) { return; }
  var label = (div.querySelector('.gv-ex-class').value || '').trim().toLowerCase();
  if (!label) { div.querySelector('.gv-ex-class').focus(); return; }
  var ll = ev.latlng.wrap();
  host.geovigieExamples.push({label: label.slice(0, 40),
    point: [Math.round(ll.lng * 1e6) / 1e6, Math.round(ll.lat * 1e6) / 1e6]});
  if (host.geovigieExamples.length > 200) { host.geovigieExamples.shift(); }
  publish();
});
draw();
})();
