// The console's only script (served from 'self'; no inline script anywhere): copy buttons and busy forms.
"use strict";
document.addEventListener("click", function (event) {
  var button = event.target.closest("button.copy");
  if (!button) return;
  var text = button.getAttribute("data-copy") || "";
  var done = function () { button.textContent = "Copied"; setTimeout(function () { button.textContent = "Copy"; }, 1500); };
  if (navigator.clipboard && navigator.clipboard.writeText) {
    navigator.clipboard.writeText(text).then(done, function () { button.textContent = "Select and copy"; });
  }
});
document.addEventListener("submit", function (event) {
  var form = event.target;
  if (!form.hasAttribute("data-busy")) return;
  form.setAttribute("aria-busy", "true");
  var button = form.querySelector("button[type=submit]");
  if (button) { button.textContent = form.getAttribute("data-busy"); button.setAttribute("aria-disabled", "true"); }
});
