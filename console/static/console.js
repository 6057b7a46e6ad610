// dlrhub console: progressive touches only; every page works without this file.
(function () {
  "use strict";
  var COLOURS = {delivered: "#2da44e", pending: "#54aeff", failed: "#cf222e",
                 expired: "#d4a72c", rejected: "#8250df", unknown: "#8c959f"};

  function drawCharts() {
    var holder = document.getElementById("status-chart-data");
    var canvas = document.getElementById("status-chart");
    if (!holder || !canvas || typeof window.Chart === "undefined") { return; }
    var data = JSON.parse(holder.textContent);
    new window.Chart(canvas, {
      type: "bar",
      data: {
        labels: data.labels,
        datasets: data.series.map(function (s) {
          return {label: s.label, data: s.data, backgroundColor: COLOURS[s.status] || "#57606a",
                  stack: "status"};
        })
      },
      options: {
        responsive: true, maintainAspectRatio: false, animation: false,
        scales: {x: {stacked: true, ticks: {maxRotation: 0, autoSkip: true}},
                 y: {stacked: true, beginAtZero: true, ticks: {precision: 0}}},
        plugins: {legend: {position: "bottom"}}
      }
    });
  }

  // The time zone list starts at the browser's own zone until the viewer picks one.
  function offerBrowserZone() {
    var select = document.getElementById("pref-tz");
    if (!select || !window.Intl) { return; }
    var zone = Intl.DateTimeFormat().resolvedOptions().timeZone;
    if (!zone) { return; }
    var known = Array.prototype.some.call(select.options, function (o) { return o.value === zone; });
    if (!known) {
      var option = document.createElement("option");
      option.value = zone; option.textContent = zone;
      select.insertBefore(option, select.options[1] || null);
    }
  }

  document.addEventListener("DOMContentLoaded", function () {
    drawCharts();
    offerBrowserZone();
  });
})();
