// dlrhub console: the analytics page's chart (delivery rate and handset latency over time).
// Its data is a JSON block of the page; without this file the table says it all.
(function () {
  "use strict";

  // About the width of one x label ("12-03 10:00") with room around it, in CSS pixels.
  var LABEL_PX = 90;

  function drawAnalytics() {
    var holder = document.getElementById("analytics-chart-data");
    var canvas = document.getElementById("analytics-chart");
    if (!holder || !canvas || typeof window.Chart === "undefined") { return; }
    var data = JSON.parse(holder.textContent);
    var colours = ["#0969da", "#bf8700"];
    var datasets = [{label: data.rate.label, data: data.rate.data, yAxisID: "rate",
                     borderColor: "#2da44e", backgroundColor: "#2da44e", spanGaps: true}];
    data.latency.forEach(function (s, i) {
      datasets.push({label: s.label, data: s.data, yAxisID: "latency", borderDash: [4, 3],
                     borderColor: colours[i % colours.length],
                     backgroundColor: colours[i % colours.length], spanGaps: true});
    });
    var count = data.labels.length;
    // Every step-th label, counted back from the last, so that the newest bucket (where
    // the latest point is) always has its label; as many as fit without overlapping.
    function step() {
      var fit = Math.max(2, Math.floor((canvas.clientWidth || 600) / LABEL_PX));
      return Math.max(1, Math.ceil(count / fit));
    }
    new window.Chart(canvas, {
      type: "line",
      data: {labels: data.labels, datasets: datasets},
      options: {
        responsive: true, maintainAspectRatio: false, animation: false,
        interaction: {mode: "index", intersect: false},
        scales: {
          x: {ticks: {maxRotation: 0, autoSkip: false, callback: function (value, index) {
            return (count - 1 - index) % step() === 0 ? this.getLabelForValue(value) : null;
          }}},
          rate: {position: "left", min: 0, max: 100, title: {display: true, text: data.rate_axis}},
          // No latency line (the providers give no submission time): no latency axis.
          latency: {display: data.latency.length > 0, position: "right", beginAtZero: true,
                    grid: {drawOnChartArea: false},
                    title: {display: true, text: data.latency_axis}}
        },
        plugins: {legend: {position: "bottom"}}
      }
    });
  }

  document.addEventListener("DOMContentLoaded", drawAnalytics);
})();
