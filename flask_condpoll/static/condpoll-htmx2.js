// flask-condpoll: conditional polling for htmx 2.
//
// Activate with hx-ext="condpoll" on the polling element (or an ancestor).
// - Sends If-None-Match with the element's last tag: its data-condpoll-etag
//   attribute (rendered by the server, so it survives outerHTML swaps), else
//   the last ETag seen for its id.
// - Keeps the DOM on 304: htmx 2 would otherwise swap in the empty body.
// - With data-condpoll-pause, skips polls while the page is hidden (no eval,
//   so it works under a strict Content-Security-Policy).
(function () {
  "use strict";
  var ATTRIBUTE = "data-condpoll-etag";
  var byId = {};

  function tagOf(elt) {
    return elt.getAttribute(ATTRIBUTE) || (elt.id && byId[elt.id]) || null;
  }

  function remember(elt, etag) {
    if (etag) {
      elt.setAttribute(ATTRIBUTE, etag);
      if (elt.id) byId[elt.id] = etag;
    } else {
      elt.removeAttribute(ATTRIBUTE);
      if (elt.id) delete byId[elt.id];
    }
  }

  htmx.defineExtension("condpoll", {
    onEvent: function (name, evt) {
      var detail = evt.detail;
      if (name === "htmx:beforeRequest") {
        if (document.hidden && detail.elt.hasAttribute("data-condpoll-pause")) {
          evt.preventDefault();
        }
      } else if (name === "htmx:configRequest") {
        var tag = detail.verb === "get" ? tagOf(detail.elt) : null;
        if (tag) detail.headers["If-None-Match"] = tag;
      } else if (name === "htmx:beforeSwap") {
        var xhr = detail.xhr;
        var elt = detail.requestConfig && detail.requestConfig.elt;
        if (xhr.status === 304) {
          detail.shouldSwap = false;
        } else if (elt && xhr.status >= 200 && xhr.status < 300) {
          remember(elt, xhr.getResponseHeader("ETag"));
        }
      }
      return true;
    },
  });
})();
