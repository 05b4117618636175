// flask-condpoll: server-steered polling for htmx 4.
// Needs condpoll-poll.js (the schedule) before it, and htmx's hx-ptag
// extension for the tags (HX-PTag; htmx 4 keeps the DOM on 204 and 304).
//
// The element polls on the condpoll:poll event (hx-trigger="condpoll:poll"),
// which the schedule fires. This extension:
// - sets each poll's request timeout (data-condpoll-timeout);
// - keeps the DOM when a poll gets a 5xx or 429 (htmx 4 would swap it in);
// - reports every poll's answer, or its failure, to the schedule.
(function () {
  "use strict";
  var EVENT = "condpoll:poll";

  function isPoll(ctx) {
    return !!(ctx && ctx.sourceEvent && ctx.sourceEvent.type === EVENT);
  }

  htmx.registerExtension("condpoll", {
    htmx_after_init: function (elt) {
      condpoll.watch(elt);
    },
    htmx_config_request: function (elt, detail) {
      if (!isPoll(detail.ctx)) return;
      var request = detail.ctx.request;
      var prefer = condpoll.preferOf(elt);
      if (prefer) request.headers["Prefer"] = prefer;
      if (request.timeout == null) request.timeout = condpoll.timeoutOf(elt);
    },
    htmx_after_request: function (elt, detail) {
      var ctx = detail.ctx;
      if (!isPoll(ctx)) return;
      var response = ctx.response;
      if (response.status >= 500 || response.status === 429) ctx.swap = "none";
      condpoll.report(elt.id, response.status, function (header) {
        return response.headers.get(header);
      });
    },
    htmx_finally_request: function (elt, detail) {
      // No response: a network error, a timeout or an abort.
      if (isPoll(detail.ctx) && !detail.ctx.response) condpoll.report(elt.id, 0, null);
    },
  });
})();
