// Village stories: drafts saved as you type, reactions without reload, reply prompts and quotes. Pages work without it.
(function () {
  "use strict";
  // Keyed by the signed-in member's opaque value (site.js clears other members' copies and, at sign-out, all).
  var OWNER = document.body.getAttribute("data-draft-owner") || "";
  var PREFIX = "village:draft:" + OWNER + ":";
  var FIELDS = ["title", "body", "tags", "anonymous", "age_band", "setting", "content_note", "remind", "quoting"];
  function store() { if (!OWNER) return null; try { return window.localStorage; } catch (e) { return null; } }
  function token(form) { var t = form.querySelector("input[name=csrf_token]"); return t ? t.value : ""; }
  function debounce(fn, ms) { var id; return function () { clearTimeout(id); id = setTimeout(fn, ms); }; }

  // Forget a draft once the server has confirmed the post (the confirmation page carries data-clear-draft).
  document.querySelectorAll("[data-clear-draft]").forEach(function (el) {
    var s = store(); if (s) s.removeItem(PREFIX + el.getAttribute("data-clear-draft"));
  });

  function readForm(form) {
    var data = {};
    FIELDS.forEach(function (name) {
      var els = form.querySelectorAll("[name=" + name + "]");
      els.forEach(function (el) {
        if (el.type === "checkbox") data[name] = el.checked ? "y" : "";
        else if (el.type === "radio") { if (el.checked) data[name] = el.value; }
        else data[name] = el.value;
      });
    });
    return data;
  }
  function writeForm(form, data) {
    Object.keys(data).forEach(function (name) {
      form.querySelectorAll("[name=" + name + "]").forEach(function (el) {
        if (el.type === "checkbox") el.checked = data[name] === "y";
        else if (el.type === "radio") el.checked = el.value === data[name];
        else el.value = data[name];
      });
    });
  }

  document.querySelectorAll("form[data-draft]").forEach(function (form) {
    var key = PREFIX + form.getAttribute("data-draft"), s = store();
    var status = form.querySelector("[data-draft-status]");
    var body = form.querySelector("[name=body]");
    function say(text) { if (status) status.textContent = text; }
    var serverAt = +form.getAttribute("data-server-draft-at") || 0;
    if (s && body) {
      try {
        var saved = JSON.parse(s.getItem(key) || "null");
        var newer = !body.value.trim() || (serverAt && saved && saved.at > serverAt);
        if (saved && newer && saved.data && (saved.data.body || "").trim() && saved.data.body !== body.value) {
          writeForm(form, saved.data); say("We restored your draft.");
        }
      } catch (e) { s.removeItem(key); }
    }
    var saveLocal = debounce(function () {
      if (!s) return;
      var data = readForm(form);
      if ((data.body || "").trim() || (data.title || "").trim()) s.setItem(key, JSON.stringify({ at: Date.now(), data: data }));
      else s.removeItem(key);
    }, 300);
    var saveServer = debounce(function () {
      var url = form.getAttribute("data-draft-url"); if (!url || !window.fetch) return;
      fetch(url, { method: "POST", credentials: "same-origin",
        headers: { "Content-Type": "application/json", "Accept": "application/json", "X-CSRFToken": token(form) },
        body: JSON.stringify(readForm(form)) })
        .then(function (r) { if (r.ok) say("Draft saved."); })
        .catch(function () { say("Saved on this device."); });
    }, 2500);
    form.addEventListener("input", function () { saveLocal(); saveServer(); });
    form.addEventListener("change", function () { saveLocal(); saveServer(); });
    form.addEventListener("submit", function () {
      var button = form.querySelector("button[type=submit]");
      // Disable after the browser has collected the form, so the request is still sent once.
      if (button) setTimeout(function () { button.disabled = true; button.textContent = "Posting…"; }, 0);
      setTimeout(function () { if (button) { button.disabled = false; } }, 10000);
    });
  });

  // Character counter: code points, as the server counts them.
  document.querySelectorAll("textarea[data-counter]").forEach(function (area) {
    var out = document.getElementById("body-counter"); if (!out) return;
    var max = +area.getAttribute("data-counter"), min = +area.getAttribute("data-min") || 0;
    function update() {
      var n = Array.from(area.value.trim()).length;
      out.hidden = false;
      out.textContent = n < min ? n + " characters (at least " + min + ")" : n.toLocaleString() + " / " + max.toLocaleString();
      out.classList.toggle("error", n > max);
    }
    area.addEventListener("input", update); update();
  });

  function insertText(area, text, atStart) {
    var start = atStart ? 0 : area.selectionStart || area.value.length, end = atStart ? 0 : area.selectionEnd || start;
    area.value = area.value.slice(0, start) + text + area.value.slice(end);
    area.focus();
    var pos = start + text.length; area.setSelectionRange(pos, pos);
    area.dispatchEvent(new Event("input", { bubbles: true }));
  }

  // Prompt chips: plain hints without JS, buttons that start the reply with JS.
  document.querySelectorAll("[data-prompts] .prompt").forEach(function (span) {
    var button = document.createElement("button");
    button.type = "button"; button.className = "chip"; button.textContent = span.textContent;
    button.addEventListener("click", function () {
      // The span is gone once replaced: find the form from the button itself.
      var area = button.closest("form").querySelector("textarea[name=body]");
      insertText(area, (area.value && !/\n$/.test(area.value) ? "\n\n" : "") + span.getAttribute("data-insert"));
    });
    span.replaceWith(button);
  });

  // Quote: the selected text inside the story/reply, or its whole text, as a Markdown quote.
  document.addEventListener("click", function (event) {
    var link = event.target.closest && event.target.closest("a[data-quote]");
    var form = document.getElementById("reply-form");
    if (!link || !form) return;
    var ref = link.getAttribute("data-quote");
    var source = document.querySelector((ref === "story" ? "#story" : "#" + ref) + " [data-quote-source]");
    if (!source) return;
    event.preventDefault();
    var sel = window.getSelection(), text = "";
    if (sel && !sel.isCollapsed && source.contains(sel.anchorNode)) text = sel.toString();
    if (!text.trim()) {
      // Nothing selected: the first paragraph (or list, its items kept), never a quote inside it.
      var block = Array.prototype.find.call(source.children, function (el) { return el.tagName !== "BLOCKQUOTE"; });
      if (block && (block.tagName === "UL" || block.tagName === "OL")) {
        text = Array.prototype.map.call(block.children, function (li, i) {
          return (block.tagName === "OL" ? (i + 1) + ". " : "- ") + li.innerText.trim();
        }).join("\n");
      } else text = (block || source).innerText;
    }
    // "NAME wrote:" as the page shows the author ("Anonymous parent (who shared this story)" -> "Anonymous parent").
    var who = ref === "story" ? document.querySelector("#story .story-head .meta") : document.querySelector("#" + ref + " .reply-author");
    var name = who && who.firstChild ? who.firstChild.textContent.split("·")[0].replace(/\s+/g, " ").trim().replace(/\s*\([^()]*\)$/, "") : "";
    var quote = (name ? name.charAt(0).toUpperCase() + name.slice(1) + " wrote:\n" : "") +
      text.trim().split(/\n+/).map(function (l) { return "> " + l.trim(); }).join("\n") + "\n\n";
    var area = form.querySelector("textarea[name=body]");
    form.querySelector("[name=quoting]").value = ref === "story" ? "" : ref;
    area.value = area.value + (area.value && !/\n\n$/.test(area.value) ? "\n\n" : "");
    insertText(area, quote, false);
    area.scrollIntoView({ block: "center" });
  });

  // Reactions: one tap, no reload; the plain form post still works if this fails. Each button carries the
  // state it asks for (value "kind:1" or "kind:0"), kept in step here, so a repeated tap never flips it back.
  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (!form.classList || !form.classList.contains("reaction-form") || !window.fetch) return;
    var button = event.submitter;
    if (!button || button.name !== "react") return;  // no way to tell which button: the plain post
    event.preventDefault();
    var box = form.closest("[data-reactions]");
    var body = new FormData(form);
    body.append(button.name, button.value);
    button.disabled = true;
    fetch(form.action, { method: "POST", credentials: "same-origin", body: body,
      headers: { "Accept": "application/json", "X-CSRFToken": token(form) } })
      .then(function (r) {
        if (!r.ok || (r.headers.get("Content-Type") || "").indexOf("json") < 0) throw new Error("fallback");
        return r.json();
      })
      .then(function (data) {
        box.querySelectorAll("button[data-kind]").forEach(function (b) {
          var kind = b.getAttribute("data-kind"), on = data.mine.indexOf(kind) >= 0;
          b.classList.toggle("is-on", on); b.setAttribute("aria-pressed", on ? "true" : "false");
          b.value = kind + ":" + (on ? "0" : "1");
          b.querySelector("[data-count]").textContent = data.counts[kind] || "";
        });
        var people = box.querySelector("[data-people]"), phrasesEl = document.getElementById("reaction-phrases");
        var phrases = JSON.parse((phrasesEl && phrasesEl.getAttribute("data-phrases")) || "{}");
        people.textContent = "";
        Object.keys(data.counts).forEach(function (kind) {
          var n = data.counts[kind]; if (!n || !phrases[kind]) return;
          var d = document.createElement("details"), sum = document.createElement("summary"), p = document.createElement("p");
          d.className = "reaction-who"; p.className = "meta";
          sum.textContent = n + (n === 1 ? " parent " : " parents ") + phrases[kind][n === 1 ? 0 : 1];
          p.textContent = data.people[kind].join(", ");
          d.appendChild(sum); d.appendChild(p); people.appendChild(d);
        });
        button.disabled = false;
      })
      .catch(function () {
        // form.submit() sends no button: the tapped one's value goes in a field of its own.
        var chosen = document.createElement("input");
        chosen.type = "hidden"; chosen.name = button.name; chosen.value = button.value;
        form.appendChild(chosen); button.disabled = false; form.submit();
      });
  });
})();
