// Gentle signposting while writing: after a pause, ask (without storing anything) whether the draft
// suggests the writer is struggling, and if so show a calm card with support. Never blocks posting.
(function () {
  "use strict";
  var slot = document.querySelector(".care-slot[data-care-url]");
  var card = slot && slot.querySelector(".care-card");
  var form = document.querySelector("form.story-form");
  if (!card || !form || !window.fetch || !form.querySelector("#body")) return;
  var body = form.querySelector("#body");
  var token = form.querySelector("input[name=csrf_token]");
  var timer = null, lastText = "", closed = false;

  function ask() {
    var text = body.value.trim();
    if (closed || text.length < 15 || text === lastText) return;
    lastText = text;
    fetch(slot.getAttribute("data-care-url"), {
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

// The identifying-details warning (same rules as forum/care/privacy.py), under any story or reply editor.
(function () {
  "use strict";
  var PHONE = /(?:\+44\s?7\d{3}|\b07\d{3}|\(\d{3}\)\s?\d{3}|\+1[\s-]?\d{3}|\b\d{3}[\s.-]\d{3})[\s.-]?\d{3,4}[\s.-]?\d{0,4}(?!\d)/;
  var POSTCODE = /\b[A-Z]{1,2}\d[A-Z\d]?\s?\d[A-Z]{2}\b/;
  var STREET = /\b\d{1,4}\s{1,3}[A-Z][a-z]{1,30}(?:\s[A-Z][a-z]{1,30})?\s(?:Street|St|Road|Rd|Avenue|Ave|Lane|Ln|Close|Drive|Dr|Way|Crescent|Grove)\b/;
  var NAME = /\b[A-Z][a-z]{1,15}\s[A-Z][a-z]{2,20}\b/g;
  var SETTING = /\b(?:[A-Z][\w'’-]{0,40}\s){1,4}(?:Nursery|School|Preschool|Pre-school|Primary|Academy|Daycare|Kindergarten|Childcare)\b/;
  var NOT_NAMES = ["Last Monday", "Last Tuesday", "Last Wednesday", "Last Thursday", "Last Friday", "Next Monday",
                   "Good Morning", "Happy Birthday"];
  var MESSAGE = "Other parents might recognise this — you may want to remove names, phone numbers or addresses.";

  function identifying(text) {
    if (PHONE.test(text) || POSTCODE.test(text) || STREET.test(text)) return true;
    var setting = text.match(SETTING);
    if (!setting) return false;
    return (text.match(NAME) || []).some(function (name) {
      return NOT_NAMES.indexOf(name) < 0 && setting[0].indexOf(name) < 0;
    });
  }

  document.querySelectorAll("form.story-form textarea[name=body], form#reply-form textarea[name=body]").forEach(function (area) {
    var note = document.createElement("p");
    note.className = "notice notice-warning privacy-note";
    note.setAttribute("role", "status");
    note.hidden = true;
    note.textContent = MESSAGE;
    area.insertAdjacentElement("afterend", note);
    var timer = null;
    area.addEventListener("input", function () {
      window.clearTimeout(timer);
      timer = window.setTimeout(function () { note.hidden = !identifying(area.value); }, 800);
    });
  });
})();

// After posting: while the post's classifier check is still running in the background, ask a few times (after
// 1, 2, 4 and 8 s) whether it left the writer the support card, and if so show it in the polite live region
// near the top of her post. Nothing moves focus or blocks; without JavaScript the card is on her next page.
(function () {
  "use strict";
  var region = document.querySelector("[data-care-watch]");
  if (!region || !window.fetch) return;
  var waits = [1000, 2000, 4000, 8000];

  function again() {
    if (waits.length) window.setTimeout(ask, waits.shift());
  }

  function ask() {
    fetch(region.getAttribute("data-care-watch"), {credentials: "same-origin", headers: {"Accept": "application/json"}})
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (data) {
        if (data && data.card && data.html) region.innerHTML = data.html;
        else if (!data || data.pending) again();  // a failed request is asked again too, within the same tries
      })
      .catch(again);
  }
  window.setTimeout(ask, waits.shift());
})();
