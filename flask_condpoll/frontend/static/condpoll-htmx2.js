// flask-condpoll: conditional, server-steered polling for htmx 2.
// Needs condpoll-poll.js (the schedule) before it.
//
// Activate with hx-ext="condpoll" on the polling element (or an ancestor);
// the element polls on the condpoll:poll event (hx-trigger="condpoll:poll"),
// which the schedule fires.
// - Sends If-None-Match with the element's last tag: its data-condpoll-etag
//   attribute (rendered by the server, so it survives outerHTML swaps), else
//   the last ETag seen for its id.
// - Keeps the DOM on 304 (htmx 2 would swap in the empty body) and on an
//   empty 286 (the server's "stop polling").
// - Reports every poll's answer to the schedule, with a request timeout.
(function () {
  "use strict";
  var ATTRIBUTE = "data-condpoll-etag";
  var EVENT = "condpoll:poll";
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

  function isPoll(config) {
    return !!(config && config.triggeringEvent && config.triggeringEvent.type === EVENT);
  }

  htmx.defineExtension("condpoll", {
    onEvent: function (name, evt) {
      var detail = evt.detail;
      if (name === "htmx:afterProcessNode") {
        condpoll.watch(detail.elt);
      } else if (name === "htmx:configRequest") {
        var tag = detail.verb === "get" ? tagOf(detail.elt) : null;
        if (tag) detail.headers["If-None-Match"] = tag;
        if (isPoll(detail)) {
          var prefer = condpoll.preferOf(detail.elt);
          if (prefer) detail.headers["Prefer"] = prefer;
          if (!detail.timeout) detail.timeout = condpoll.timeoutOf(detail.elt);
        }
      } else if (name === "htmx:beforeSwap") {
        var xhr = detail.xhr;
        var elt = detail.requestConfig && detail.requestConfig.elt;
        if (xhr.status === 304 || (xhr.status === 286 && !xhr.responseText)) {
          detail.shouldSwap = false;
        } else if (elt && xhr.status >= 200 && xhr.status < 300) {
          remember(elt, xhr.getResponseHeader("ETag"));
        }
      } else if (name === "htmx:afterRequest" && isPoll(detail.requestConfig)) {
        var request = detail.xhr;
        condpoll.report(detail.requestConfig.elt.id, request.status, function (header) {
          return request.status ? request.getResponseHeader(header) : null;
        });
      }
      return true;
    },
  });
})();
