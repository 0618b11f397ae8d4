// Village: small progressive enhancements. Every page works without this file.
(function () {
  "use strict";
  // Disable a form's submit buttons once it is sent, so a double tap cannot send it twice.
  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (!(form instanceof HTMLFormElement) || form.hasAttribute("data-no-lock")) return;
    if (form.dataset.submitting === "1") { event.preventDefault(); return; }
    form.dataset.submitting = "1";
    window.setTimeout(function () { form.dataset.submitting = ""; }, 8000);
  });
})();
