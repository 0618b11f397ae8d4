// "This helped" / "Not like mine" on the similar-stories panel without a reload. The plain form posts work
// without it (they come back to the story). Each form carries the verdict it asks for, kept in step here,
// so tapping the chosen answer again takes it back.
(function () {
  "use strict";
  if (!window.fetch) return;
  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (!form.classList || !form.classList.contains("similar-feedback-form")) return;
    event.preventDefault();
    var group = form.closest("[data-similar-feedback]");
    var token = form.querySelector("input[name=csrf_token]");
    var button = form.querySelector("button");
    var status = group.querySelector("[data-feedback-status]");
    button.disabled = true;
    fetch(form.action, { method: "POST", credentials: "same-origin", body: new FormData(form),
      headers: { "Accept": "application/json", "X-CSRFToken": token ? token.value : "" } })
      .then(function (r) {
        if (r.status === 429) {  // rate-limited: say so here rather than leave the page
          button.disabled = false;
          if (status) status.textContent = "That's a lot of answers at once: please try again in a minute.";
          return null;
        }
        if (!r.ok || (r.headers.get("Content-Type") || "").indexOf("json") < 0) throw new Error("fallback");
        return r.json();
      })
      .then(function (data) {
        if (!data) return;
        group.querySelectorAll("button[data-verdict]").forEach(function (b) {
          var verdict = b.getAttribute("data-verdict"), on = data.verdict === verdict;
          b.classList.toggle("is-on", on);
          b.setAttribute("aria-pressed", on ? "true" : "false");
          b.form.querySelector("input[name=verdict]").value = on ? "" : verdict;
        });
        if (status) status.textContent = data.message;
        button.disabled = false;
      })
      .catch(function () { button.disabled = false; form.submit(); });
  });
})();
