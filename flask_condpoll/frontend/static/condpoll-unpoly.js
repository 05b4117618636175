// flask-condpoll: server-steered polling for Unpoly 3.
// Needs condpoll-poll.js (the schedule) before it.
//
// Unpoly's own [up-poll] keeps one interval per fragment, so the schedule
// polls instead: it reloads the fragment with up.reload(), as [up-poll]
// does (a background request targeting #id, with If-None-Match from
// up-etag), and hears the answer from the request events. Polls answered
// with a failure (a 5xx or 429) render nothing, so the fragment stays.
(function () {
  "use strict";
  var pending = new WeakMap(); // element -> the poll's answer, once known

  document.addEventListener("condpoll:poll", function (event) {
    var elt = event.target;
    var prefer = condpoll.preferOf(elt);
    pending.set(elt, null);
    up.reload(elt, {
      background: true,
      timeout: condpoll.timeoutOf(elt),
      origin: elt,
      headers: prefer ? { Prefer: prefer } : {},
    }).catch(function () {});
  }, true);

  up.compiler("[data-condpoll-interval]", function (elt) {
    condpoll.watch(elt);
  });

  up.on("up:request:loaded", function (event) {
    var elt = event.request.origin;
    if (!elt || !pending.has(elt) || pending.get(elt)) return;
    var response = event.response;
    pending.set(elt, response);
    condpoll.report(elt.id, response.status, function (header) {
      return response.header(header) || null;
    });
  });

  up.on("up:request:offline up:request:aborted", function (event) {
    var elt = event.request.origin;
    if (elt && pending.has(elt) && !pending.get(elt)) {
      pending.delete(elt);
      condpoll.report(elt.id, 0, null);
    }
  });

  up.on("up:fragment:loaded", function (event) {
    var elt = event.request.origin;
    if (!elt || !pending.has(elt)) return;
    pending.delete(elt);
    if (!event.response.ok) event.skip();
  });
})();
