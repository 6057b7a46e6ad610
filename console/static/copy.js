// dlrhub console: copy buttons. Each button names the element whose text it copies; the
// buttons stay hidden where the browser cannot copy, and the text can still be selected.
(function () {
  "use strict";
  document.addEventListener("DOMContentLoaded", function () {
    if (!navigator.clipboard) { return; }
    Array.prototype.forEach.call(document.querySelectorAll("button.copy[data-copy]"), function (button) {
      var source = document.getElementById(button.getAttribute("data-copy"));
      if (!source) { return; }
      var label = button.textContent;
      button.hidden = false;
      button.addEventListener("click", function () {
        navigator.clipboard.writeText(source.textContent.trim()).then(function () {
          button.textContent = button.getAttribute("data-done") || "✓";
          window.setTimeout(function () { button.textContent = label; }, 1500);
        });
      });
    });
  });
})();
