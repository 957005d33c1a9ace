// Live updates: the server sends an event when an object this user may see changes;
// the page fetches its own fresh HTML (rendered from the server's caches) and swaps in
// its main part. No framework, no polling.
(function () {
  "use strict";
  var live = document.getElementById("live");
  if (!live || live.dataset.live !== "on" || !window.EventSource) { return; }
  var pending = null, inflight = false, again = false, failed = false;

  // scope is what this page shows, as the stream's query: the server sends only that.
  function scope() {
    var p = location.pathname;
    if (p === "/") { return { resource: "applications" }; }
    if (p === "/repositories") { return { resource: "repositories" }; }
    if (p === "/previews") { return { resource: "previews" }; }
    var m = p.match(/^\/applications\/([^/]+)\/([^/]+)$/);
    if (m) { return { resource: "applications", namespace: decodeURIComponent(m[1]), name: decodeURIComponent(m[2]) }; }
    return null;
  }

  function refresh() {
    if (inflight) { again = true; return; }
    inflight = true;
    // A fetch that hangs would hold every later refresh back (they wait for it): give up
    // after 15 s. After a timeout, a network error or a server error, try again in 2 s, as
    // the change it was for is not shown yet; a 403 or 404 (the object is gone) is final.
    var ctl = new AbortController(), timer = setTimeout(function () { ctl.abort(); }, 15000);
    fetch(location.href, { headers: { "X-Fragment": "main" }, credentials: "same-origin", signal: ctl.signal })
      .then(function (r) {
        if (r.status === 401) { location.reload(); }
        if (r.status >= 500) { throw new Error(String(r.status)); }
        return r.ok ? r.text() : null;
      })
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
      .catch(function () { live.textContent = "live · update failed, retrying"; again = true; failed = true; })
      .finally(function () {
        clearTimeout(timer);
        inflight = false;
        if (again) { again = false; schedule(failed ? 2000 : 100); }
        failed = false;
      });
  }

  function schedule(delay) {
    if (pending) { return; }
    pending = setTimeout(function () { pending = null; refresh(); }, typeof delay === "number" ? delay : 100);
  }

  var sc = scope();
  if (!sc) { return; }
  var es = new EventSource("/events?" + new URLSearchParams(sc).toString());
  // A change between this page's rendering and the stream's start would be lost: once
  // connected (and on every reconnect), fetch the page once more.
  es.onopen = function () { live.textContent = "live"; schedule(); };
  es.onerror = function () { live.textContent = "reconnecting…"; };
  // The server dropped changes while this stream lagged: which ones is unknown, so fetch.
  es.addEventListener("resync", schedule);
  es.addEventListener("change", schedule);
})();
