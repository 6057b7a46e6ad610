// dlrhub console: the analytics page's chart (delivery rate and handset latency over time).
// Its data is a JSON block of the page; without this file the table says it all.
(function () {
  "use strict";

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
    new window.Chart(canvas, {
      type: "line",
      data: {labels: data.labels, datasets: datasets},
      options: {
        responsive: true, maintainAspectRatio: false, animation: false,
        interaction: {mode: "index", intersect: false},
        scales: {
          x: {ticks: {maxRotation: 0, autoSkip: true}},
          rate: {position: "left", min: 0, max: 100, title: {display: true, text: data.rate_axis}},
          latency: {position: "right", beginAtZero: true, grid: {drawOnChartArea: false},
                    title: {display: true, text: data.latency_axis}}
        },
        plugins: {legend: {position: "bottom"}}
      }
    });
  }

  document.addEventListener("DOMContentLoaded", drawAnalytics);
})();
