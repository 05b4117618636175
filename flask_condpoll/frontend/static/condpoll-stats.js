// flask-condpoll: the stats page polls its plots with their tag, so that an
// unchanged page costs a 304. No library, no eval; served from the page's
// own origin, so it runs under a Content-Security-Policy of script-src 'self'.
(function () {
  "use strict";
  var box = document.getElementById("condpoll-plots");
  if (!box || !window.fetch) return;
  var url = box.getAttribute("data-url");
  var tag = box.getAttribute("data-etag");
  var every = parseFloat(box.getAttribute("data-interval")) * 1000;

  function poll() {
    if (document.hidden) return;
    var headers = tag ? { "If-None-Match": tag } : {};
    fetch(url, { headers: headers, cache: "no-store", credentials: "same-origin" })
      .then(function (response) {
        box.setAttribute("data-last-status", String(response.status));
        if (response.status !== 200) return null;
        tag = response.headers.get("ETag");
        return response.text().then(function (html) {
          box.innerHTML = html;
        });
      })
      .catch(function () {
        box.setAttribute("data-last-status", "offline");
      });
  }

  setInterval(poll, every);
})();
