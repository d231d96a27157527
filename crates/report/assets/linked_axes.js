// Draws every chart, then links the horizontal axes of charts in the same group (simulated
// time, or one swept parameter): zooming or panning one chart moves the others; a
// double-click on any of them resets the whole group. `window.servesimReport.ready`
// resolves once everything is drawn and linked.
(function () {
  "use strict";
  var figures = JSON.parse(document.getElementById("servesim-figures").textContent);
  var drawn = Object.keys(figures).map(function (id) {
    return Plotly.newPlot(id, figures[id]).then(function () { return id; });
  });
  function linkGroup(ids) {
    var syncing = false;
    ids.forEach(function (source) {
      document.getElementById(source).on("plotly_relayout", function (event) {
        if (syncing) { return; }
        var update = {};
        if (event["xaxis.autorange"]) {
          update["xaxis.autorange"] = true;
        } else if (event["xaxis.range[0]"] !== undefined) {
          update["xaxis.range"] = [event["xaxis.range[0]"], event["xaxis.range[1]"]];
        } else if (event["xaxis.range"]) {
          update["xaxis.range"] = event["xaxis.range"].slice();
        } else {
          return;
        }
        syncing = true;
        var others = ids.filter(function (id) { return id !== source; });
        Promise.all(others.map(function (id) { return Plotly.relayout(id, update); }))
          .finally(function () { syncing = false; });
      });
    });
  }
  var ready = Promise.all(drawn).then(function () {
    var groups = {};
    document.querySelectorAll(".chart[data-link]").forEach(function (el) {
      (groups[el.dataset.link] = groups[el.dataset.link] || []).push(el.id);
    });
    Object.keys(groups).forEach(function (g) {
      if (groups[g].length > 1) { linkGroup(groups[g]); }
    });
    return groups;
  });
  window.servesimReport = { ready: ready };
})();
