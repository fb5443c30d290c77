/* Draw every [data-plotly] element with the figure JSON it names (a json_script id).
   Runs on load and again after each htmx swap; needs window.Plotly (static/vendor/plotly-basic-*.min.js). */
(function () {
  "use strict";

  var CONFIG = { displayModeBar: false, responsive: true, scrollZoom: false, doubleClick: false };

  function draw(el) {
    if (el.dataset.plotlyDrawn === "true" || !window.Plotly) return;
    var source = document.getElementById(el.dataset.plotly);
    if (!source) return;
    var figure = JSON.parse(source.textContent);
    el.replaceChildren();
    el.dataset.plotlyDrawn = "true";
    window.Plotly.newPlot(el, figure.data || [], figure.layout || {}, CONFIG);
  }

  function drawAll(root) {
    (root || document).querySelectorAll("[data-plotly]").forEach(draw);
  }

  document.addEventListener("DOMContentLoaded", function () { drawAll(document); });
  document.addEventListener("htmx:afterSettle", function () { drawAll(document); });
  // Plots are drawn at screen width; redraw them at paper width for printing.
  window.addEventListener("beforeprint", function () {
    document.querySelectorAll("[data-plotly-drawn='true']").forEach(function (el) { window.Plotly.Plots.resize(el); });
  });
})();
