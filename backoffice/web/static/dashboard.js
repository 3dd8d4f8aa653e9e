// Keeps the dashboard live: fetches the page's sections every few seconds and swaps them
// in. Plain fetch, no framework. A lost session goes back to the login; a failed poll
// marks the page stale and tries again.
(function () {
  "use strict";
  var live = document.getElementById("live");
  var stamp = document.getElementById("updated");
  if (!live) { return; }
  var every = Math.max(0.2, Number(live.dataset.refresh) || 5) * 1000;

  function refresh() {
    fetch(live.dataset.src, { credentials: "same-origin", cache: "no-store" })
      .then(function (response) {
        if (response.status === 401) {
          window.location.assign("/login?next=" + encodeURIComponent(location.pathname + location.search));
          return null;
        }
        if (!response.ok) { throw new Error("HTTP " + response.status); }
        return response.text();
      })
      .then(function (html) {
        if (html === null) { return; }
        live.innerHTML = html;
        document.body.classList.remove("stale");
        stamp.textContent = "Live · updated " + new Date().toLocaleTimeString();
      })
      .catch(function () {
        document.body.classList.add("stale");
        stamp.textContent = "Connection lost; retrying";
      })
      .then(function () { window.setTimeout(refresh, every); });
  }
  window.setTimeout(refresh, every);
})();
