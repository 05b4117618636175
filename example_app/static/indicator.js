// The demo's poll indicators: under each panel's title, its last poll's
// status, size and server time (from the Server-Timing header), and how many
// answers were unchanged (304, or 204 to htmx 4) or changed (200).
// Listens to htmx 2's, htmx 4's and Unpoly 3's events; no eval, no inline
// script, so it runs under a Content-Security-Policy of script-src 'self'.
(function () {
  "use strict";
  var seen = {};

  function serverMs(header) {
    if (!header) return null;
    var total = null;
    header.split(",").forEach(function (metric) {
      var name = metric.split(";")[0].trim();
      var dur = /;\s*dur=([\d.]+)/.exec(metric);
      if (dur && name.indexOf("cp-") === 0) total = (total || 0) + parseFloat(dur[1]);
    });
    return total;
  }

  function size(text) {
    var bytes = new TextEncoder().encode(text || "").length;
    return bytes < 1000 ? bytes + " B" : (bytes / 1000).toFixed(1) + " kB";
  }

  function span(className, text) {
    var element = document.createElement("span");
    element.className = className;
    element.textContent = text;
    return element;
  }

  function show(id, status, text, timing) {
    var indicator = id && document.querySelector('.indicator[data-for="' + id + '"]');
    if (!indicator) return;
    var counts = seen[id] || (seen[id] = { unchanged: 0, changed: 0 });
    var unchanged = status === 304 || status === 204;
    var changed = !unchanged && status >= 200 && status < 300;
    if (unchanged) counts.unchanged += 1;
    if (changed) counts.changed += 1;
    var ms = serverMs(timing);
    indicator.className =
      "indicator " + (unchanged ? "unchanged" : changed ? "changed" : "failed");
    indicator.dataset.status = String(status);
    indicator.dataset.unchanged = String(counts.unchanged);
    indicator.dataset.changed = String(counts.changed);
    var parts = indicator.dataset.label ? [span("label", indicator.dataset.label), " "] : [];
    parts.push(
      span("code", String(status)),
      " ",
      span("what", unchanged ? "unchanged" : changed ? "changed" : "failed"),
      " · ",
      span("size", size(text))
    );
    if (ms !== null) parts.push(" · ", span("time", ms.toFixed(1) + " ms on the server"));
    parts.push(
      " · ",
      span("counts", counts.unchanged + " unchanged, " + counts.changed + " changed")
    );
    indicator.replaceChildren.apply(indicator, parts);
  }

  // htmx 2: the XHR of every request, 304s included.
  document.addEventListener("htmx:afterRequest", function (event) {
    var detail = event.detail;
    var elt = (detail.requestConfig && detail.requestConfig.elt) || detail.elt;
    var xhr = detail.xhr;
    if (!elt || !xhr) return;
    show(elt.id, xhr.status, xhr.responseText, xhr.getResponseHeader("Server-Timing"));
  });

  // htmx 4: fetch's response, on the polling element.
  document.addEventListener("htmx:after:request", function (event) {
    var ctx = event.detail && event.detail.ctx;
    var response = ctx && ctx.response;
    var elt = (ctx && ctx.sourceElement) || event.target;
    if (!response || !elt) return;
    show(elt.id, response.status, ctx.text, response.headers.get("Server-Timing"));
  });

  // Unpoly 3: every loaded response, 304s included; the poll targets "#id".
  document.addEventListener("up:request:loaded", function (event) {
    var response = event.response;
    var target = String(event.request.target || "");
    if (!response || target.charAt(0) !== "#") return;
    show(target.slice(1), response.status, response.text, response.header("Server-Timing"));
  });
})();
