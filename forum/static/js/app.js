// Village as an installed app: registers the service worker, and queues a story or reply sent while offline,
// posting it exactly once when the connection returns (the form's submission key makes a retry safe).
(function () {
  "use strict";
  if ("serviceWorker" in navigator && window.isSecureContext) {
    window.addEventListener("load", function () {
      navigator.serviceWorker.register("/sw.js", { scope: "/" }).catch(function () { /* the site works without it */ });
    });
  }

  // The queue is kept under this member's draft prefix, so site.js removes it with her drafts when someone else
  // signs in on this device or she signs out.
  var OWNER = document.body.getAttribute("data-draft-owner") || "";
  if (!OWNER || !window.fetch) return;
  var KEY = "village:draft:" + OWNER + ":outbox";
  function load() { try { return JSON.parse(window.localStorage.getItem(KEY) || "[]"); } catch (e) { return []; } }
  function save(items) {
    try { if (items.length) window.localStorage.setItem(KEY, JSON.stringify(items)); else window.localStorage.removeItem(KEY); }
    catch (e) { /* storage full or off: nothing more we can do */ }
  }

  function notice(html, kind) {
    var box = document.getElementById("offline-status");
    if (!box) {
      box = document.createElement("div");
      box.id = "offline-status";
      box.setAttribute("role", "status");
      var main = document.getElementById("main");
      main.insertBefore(box, main.firstChild);
    }
    box.className = "notice offline-status" + (kind ? " notice-" + kind : "");
    box.innerHTML = html;
    box.scrollIntoView({ block: "nearest" });
  }
  function attr(text) {
    return String(text).replace(/[&<>"']/g, function (c) { return "&#" + c.charCodeAt(0) + ";"; });
  }
  function what(item) { return item.kind === "story" ? "story" : "reply"; }

  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (!(form instanceof HTMLFormElement) || !form.hasAttribute("data-draft") || navigator.onLine) return;
    var key = form.querySelector("input[name=submission_key]");
    if (!key || !key.value) return;
    event.preventDefault();
    var fields = [];
    new FormData(form).forEach(function (value, name) { if (typeof value === "string") fields.push([name, value]); });
    var items = load().filter(function (item) { return item.key !== key.value; });
    var draft = form.getAttribute("data-draft");
    items.push({ key: key.value, action: form.action, page: location.pathname + location.search, fields: fields,
                 draft: draft, kind: draft === "story" ? "story" : "reply", savedAt: Date.now() });
    save(items);
    form.dataset.submitting = "";
    var button = form.querySelector("button[type=submit]"), label = button ? button.textContent : "";
    setTimeout(function () { if (button) { button.disabled = false; button.textContent = label; } }, 50);
    notice("<p><strong>You're offline. Your " + what(items[items.length - 1]) + " is saved on this phone</strong> and will be " +
           "posted by itself when you're back online. You can close this page; it will be sent next time you open Village.</p>", "warning");
  }, false);

  var sending = false;
  function post(item, fields) {
    return fetch(item.action, { method: "POST", credentials: "same-origin", body: new URLSearchParams(fields),
                                headers: { "Accept": "text/html" } });
  }
  function posted(response) {
    return response.redirected && /^\/stories\/\d+$/.test(new URL(response.url).pathname);
  }
  function freshToken(item) {
    // The security token may have expired while offline: take a new one from the page the form was on.
    return fetch(item.page, { credentials: "same-origin" }).then(function (r) { return r.text(); }).then(function (html) {
      var doc = new DOMParser().parseFromString(html, "text/html");
      var input = doc.querySelector("input[name=csrf_token]");
      return input ? input.value : "";
    });
  }
  function sendOne(item) {
    return post(item, item.fields).then(function (response) {
      if (posted(response)) return response.url;
      return freshToken(item).then(function (token) {
        if (!token) throw new Error("no token");
        var fields = item.fields.map(function (f) { return f[0] === "csrf_token" ? [f[0], token] : f; });
        return post(item, fields).then(function (again) {  // the same submission key: never a second post
          if (posted(again)) return again.url;
          throw new Error("not posted");
        });
      });
    });
  }
  function flush() {
    if (sending || !navigator.onLine) return;
    var items = load();
    if (!items.length) return;
    sending = true;
    var item = items[0];
    sendOne(item).then(function (url) {
      save(load().filter(function (other) { return other.key !== item.key; }));
      try { window.localStorage.removeItem("village:draft:" + OWNER + ":" + item.draft); } catch (e) { /* ignore */ }
      notice("<p><strong>You're back online: your " + what(item) + " is posted.</strong> <a href=\"" + attr(url) + "\">See it</a></p>", "success");
    }).catch(function () {
      notice("<p>You're back online, but your " + what(item) + " couldn't be posted yet. It is still saved on this phone; " +
             "<a href=\"" + attr(item.page) + "\">open the page</a> to check it and send it again.</p>", "warning");
      item.failed = true;
    }).then(function () {
      sending = false;
      var rest = load();
      if (rest.length && rest[0].key !== item.key) flush();
    });
  }
  window.addEventListener("online", flush);
  if (navigator.onLine) flush();
  else if (load().length) notice("<p>You're offline. What you sent is saved on this phone and will be posted when you're back online.</p>", "warning");
  window.addEventListener("offline", function () {
    notice("<p>You're offline. You can keep writing; if you post, it is saved here and sent when you're back online.</p>", "warning");
  });
})();
