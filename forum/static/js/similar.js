// "Others who felt this": after the parent pauses typing, show up to 3 similar stories beside the editor.
// Progressive enhancement: never blocks or delays posting; without JavaScript nothing changes.
(function () {
  "use strict";
  var panel = document.querySelector(".compose-similar");
  var form = document.querySelector("form.story-form");
  if (!panel || !form || !window.fetch) return;
  var body = form.querySelector("#body");
  var title = form.querySelector("#title");
  var results = panel.querySelector("[data-similar-results]");
  var token = form.querySelector("input[name=csrf_token]");
  var PAUSE = 1500, timer = null, lastSent = 0, lastText = "", inFlight = false;

  function currentText() {
    return ((title && title.value) || "") + "\n" + ((body && body.value) || "");
  }

  function ask() {
    var text = currentText().trim();
    if (text.length < 40 || text === lastText || inFlight) return;
    var wait = lastSent + PAUSE - Date.now();
    if (wait > 0) { schedule(wait); return; }
    lastText = text; lastSent = Date.now(); inFlight = true;
    fetch(panel.getAttribute("data-similar-url"), {
      method: "POST", credentials: "same-origin",
      headers: {"Content-Type": "application/json", "X-CSRFToken": token ? token.value : ""},
      body: JSON.stringify({text: text.slice(0, 20000), k: 3})
    }).then(function (r) { return r.ok ? r.json() : null; }).then(function (data) {
      if (data && data.similar && data.similar.length) {
        results.innerHTML = data.html;
        panel.hidden = false;
      }
    }).catch(function () { /* offline: the panel simply stays as it was */ })
      .then(function () { inFlight = false; });
  }

  function schedule(delay) {
    window.clearTimeout(timer);
    timer = window.setTimeout(ask, delay);
  }

  [body, title].forEach(function (field) {
    if (field) field.addEventListener("input", function () { schedule(PAUSE); });
  });
  if (body && body.value.trim()) schedule(300);
})();
