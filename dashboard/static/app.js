// Live updates: the server sends an event when an object this user may see changes;
// the page fetches its own fresh HTML (rendered from the server's caches) and swaps in
// its main part. No framework, no polling.
(function () {
  "use strict";
  var live = document.getElementById("live");
  if (!live || live.dataset.live !== "on" || !window.EventSource) { return; }
  var pending = null, inflight = false, again = false;

  function relevant(c) {
    var p = location.pathname;
    if (p === "/") { return c.resource === "applications"; }
    if (p === "/repositories") { return c.resource === "repositories"; }
    if (p === "/previews") { return c.resource === "previews"; }
    var m = p.match(/^\/applications\/([^/]+)\/([^/]+)$/);
    return !!m && c.resource === "applications" && c.namespace === decodeURIComponent(m[1]) && c.name === decodeURIComponent(m[2]);
  }

  function refresh() {
    if (inflight) { again = true; return; }
    inflight = true;
    fetch(location.href, { headers: { "X-Fragment": "main" }, credentials: "same-origin" })
      .then(function (r) { if (r.status === 401) { location.reload(); } return r.ok ? r.text() : null; })
      .then(function (html) {
        if (html === null) { return; }
        var main = document.getElementById("main");
        // Keep the user's place: the focused control (by id or name) and the form inputs.
        var focused = document.activeElement, fid = focused && focused.id;
        var kept = {};
        main.querySelectorAll("select[id],input[id]").forEach(function (el) { kept[el.id] = el.value; });
        var flash = document.getElementById("flash"); // an action's result stays until the user leaves
        main.innerHTML = html;
        if (flash && !document.getElementById("flash")) { main.insertBefore(flash, main.firstChild); }
        Object.keys(kept).forEach(function (id) {
          var el = document.getElementById(id);
          if (el && el.type !== "hidden") { el.value = kept[id]; }
        });
        if (fid && document.getElementById(fid)) { document.getElementById(fid).focus(); }
        live.textContent = "live · updated " + new Date().toLocaleTimeString();
      })
      .catch(function () { live.textContent = "live · update failed, retrying"; })
      .finally(function () { inflight = false; if (again) { again = false; schedule(); } });
  }

  function schedule() {
    if (pending) { return; }
    pending = setTimeout(function () { pending = null; refresh(); }, 100);
  }

  var es = new EventSource("/events");
  // A change between this page's rendering and the stream's start would be lost: once
  // connected (and on every reconnect), fetch the page once more.
  es.onopen = function () { live.textContent = "live"; schedule(); };
  es.onerror = function () { live.textContent = "reconnecting…"; };
  es.addEventListener("change", function (e) {
    try { if (relevant(JSON.parse(e.data))) { schedule(); } } catch (err) { /* a malformed event changes nothing */ }
  });
})();
