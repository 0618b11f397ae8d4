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

  // Draft copies kept in this browser belong to one member: their keys carry an opaque per-member value the
  // page provides (data-draft-owner). Signed in, copies of anyone else (and old unkeyed ones) are removed;
  // signed out, and when signing out, all of them (except on the sign-in page, for a sign-in that ended).
  var DRAFTS = "village:draft:";
  function clearDrafts(keepOwner) {
    try {
      var s = window.localStorage;
      for (var i = s.length - 1; i >= 0; i--) {
        var key = s.key(i);
        if (key && key.indexOf(DRAFTS) === 0 && !(keepOwner && key.indexOf(DRAFTS + keepOwner + ":") === 0)) {
          s.removeItem(key);
        }
      }
    } catch (e) { /* storage unavailable: nothing kept, nothing to clear */ }
  }
  var owner = document.body.getAttribute("data-draft-owner") || "";
  if (owner || !document.body.hasAttribute("data-keep-drafts")) clearDrafts(owner);
  document.querySelectorAll("form[action$='/logout']").forEach(function (form) {
    form.addEventListener("submit", function () { clearDrafts(""); });
  });
})();
