// Gentle signposting while writing: after a pause, ask (without storing anything) whether the draft
// suggests the writer is struggling, and if so show a calm card with support. Never blocks posting.
(function () {
  "use strict";
  var card = document.querySelector(".care-card[data-care-url]");
  var form = document.querySelector("form.story-form");
  if (!card || !form || !window.fetch) return;
  var body = form.querySelector("#body");
  var token = form.querySelector("input[name=csrf_token]");
  var timer = null, lastText = "", closed = false;

  function ask() {
    var text = body.value.trim();
    if (closed || text.length < 15 || text === lastText) return;
    lastText = text;
    fetch(card.getAttribute("data-care-url"), {
      method: "POST", credentials: "same-origin",
      headers: {"Content-Type": "application/json", "X-CSRFToken": token ? token.value : ""},
      body: JSON.stringify({text: text.slice(0, 20000)})
    }).then(function (r) { return r.ok ? r.json() : null; }).then(function (data) {
      if (data && data.signpost && !closed) {
        card.querySelector("[data-care-body]").innerHTML = data.html;
        card.hidden = false;
      }
    }).catch(function () {});
  }

  body.addEventListener("input", function () {
    window.clearTimeout(timer);
    timer = window.setTimeout(ask, 2000);
  });
  card.querySelector("[data-care-close]").addEventListener("click", function () {
    closed = true;
    card.hidden = true;
  });
})();
