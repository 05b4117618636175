// flask-condpoll: the polling schedule, shared by the htmx 2, htmx 4 and
// Unpoly adapters (condpoll-<client>.js, loaded after this file).
//
// A poller is an element with an id and data-condpoll-interval (ms before its
// first poll; -1: never). Each poll starts with a condpoll:poll event on the
// element (it does not bubble): htmx elements poll on it (hx-trigger), the
// Unpoly adapter listens for it. Its state is kept by id, so it survives the
// outerHTML swaps that replace the element on every change. After each
// response the next wait is:
// - Poll-Interval (ms) when the response has one, else the last one known;
// - "-1" stops: for good, or with Retry-After, until it is asked again then;
// - 286 (htmx 2's "stop polling") stops for good;
// - after a 5xx, 429, timeout or network error, the wait doubles per error up
//   to data-condpoll-cap; a 429 or 503 with Retry-After waits that long; the
//   first success resets it;
// - every wait is spread by +-data-condpoll-jitter (a fraction), never below
//   a Retry-After.
// With data-condpoll-wait (seconds), each poll asks the server to hold it
// until the data changes (the adapter sends Prefer: wait=N); the first poll
// starts at once, and after an answer with Preference-Applied (the server
// holds) the next poll starts at once too; without it, the interval applies,
// as for any poll.
// With data-condpoll-pause, no poll starts while the page is hidden; when it
// shows again, pollers whose wait has passed poll at once. Nothing here uses
// eval, so it works under a strict Content-Security-Policy.
(function () {
  "use strict";
  var MARKER = "data-condpoll-interval";
  var LONGEST = 2147483647; // setTimeout's limit
  var states = {};

  function option(elt, name, fallback) {
    var value = elt && parseFloat(elt.getAttribute("data-condpoll-" + name));
    return isFinite(value) ? value : fallback;
  }

  function retryAfter(value) {
    if (!value) return null;
    if (/^\s*\d+\s*$/.test(value)) return parseInt(value, 10) * 1000;
    var when = Date.parse(value);
    return isNaN(when) ? null : Math.max(0, when - Date.now());
  }

  function schedule(state, wait, atLeast) {
    clearTimeout(state.timer);
    var jitter = option(document.getElementById(state.id), "jitter", 0);
    var spread = atLeast ? Math.random() : 2 * Math.random() - 1;
    wait = Math.min(LONGEST, Math.max(0, wait * (1 + jitter * spread)));
    state.timer = setTimeout(fire, wait, state);
  }

  function fire(state) {
    state.timer = null;
    var elt = document.getElementById(state.id);
    if (states[state.id] !== state || !elt || !elt.hasAttribute(MARKER)) {
      if (states[state.id] === state) delete states[state.id];
      return;
    }
    if (document.hidden && elt.hasAttribute("data-condpoll-pause")) {
      state.due = true;
      return;
    }
    if (elt !== state.elt) {
      // Swapped in, but not yet set up by the client library (htmx adds its
      // triggers as the swap settles): watch() fires when it is.
      state.waiting = true;
      return;
    }
    state.inflight = true;
    // A poll that never reports back (dropped by a sync rule, say) counts as
    // a timeout, so the poller goes on.
    state.guard = setTimeout(report, timeoutOf(elt) + 1000, state.id, 0, null);
    elt.dispatchEvent(new CustomEvent("condpoll:poll"));
  }

  function stop(state) {
    state.stopped = true;
    clearTimeout(state.timer);
    var elt = document.getElementById(state.id);
    if (elt) elt.removeAttribute(MARKER);
  }

  // The adapter reports each poll's answer: status 0 for none (a network
  // error or a timeout); header(name) reads a response header.
  function report(id, status, header) {
    var state = states[id];
    if (!state || !state.inflight) return;
    state.inflight = false;
    clearTimeout(state.guard);
    var next = header ? parseInt(header("Poll-Interval"), 10) : NaN;
    var retry = header ? retryAfter(header("Retry-After")) : null;
    if (status === 286 || (next === -1 && retry === null)) return stop(state);
    if (next === -1) return schedule(state, retry, true);
    if (next > 0) state.interval = next;
    if (status !== 0 && status < 500 && status !== 429) {
      state.errors = 0;
      var held = header && /^\s*wait\b/i.test(header("Preference-Applied") || "");
      return schedule(state, held ? 0 : state.interval);
    }
    state.errors += 1;
    if (retry !== null && (status === 429 || status === 503)) {
      return schedule(state, retry, true);
    }
    var cap = Math.max(option(document.getElementById(id), "cap", 120000), state.interval);
    schedule(state, Math.min(cap, state.interval * Math.pow(2, state.errors)));
  }

  // Adapters call this for every element that may be a poller, when the
  // client library sets it up (first load and after each swap).
  function watch(elt) {
    if (!elt.id || !elt.hasAttribute(MARKER)) return;
    var state = states[elt.id];
    if (state) {
      state.elt = elt;
      if (state.stopped) elt.removeAttribute(MARKER);
      else if (state.waiting) {
        state.waiting = false;
        fire(state);
      } else if (!state.inflight && !state.timer && !state.due) {
        schedule(state, state.interval);
      }
      return;
    }
    var first = option(elt, "interval", -1);
    if (first < 0) return;
    state = states[elt.id] = {
      id: elt.id, elt: elt, interval: first, errors: 0, timer: null, guard: null,
      inflight: false, due: false, waiting: false, stopped: false
    };
    // A poller that asks to be held starts its first hold at once.
    schedule(state, option(elt, "wait", 0) > 0 ? 0 : first);
  }

  document.addEventListener("visibilitychange", function () {
    if (document.hidden) return;
    for (var id in states) {
      if (states[id].due) {
        states[id].due = false;
        fire(states[id]);
      }
    }
  });

  // The request timeout of a poll (ms): longer than a hold it asks for.
  function timeoutOf(elt) {
    var timeout = option(elt, "timeout", 30000);
    var wait = option(elt, "wait", 0);
    return wait > 0 ? Math.max(timeout, wait * 1000 + 10000) : timeout;
  }

  // The Prefer header value a poll of this element sends, or null.
  function preferOf(elt) {
    var wait = option(elt, "wait", 0);
    return wait > 0 ? "wait=" + Math.round(wait) : null;
  }

  window.condpoll = { watch: watch, report: report, timeoutOf: timeoutOf, preferOf: preferOf };
})();
