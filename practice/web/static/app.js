// practice: the few lines of our own script. Pages work without it.
(function () {
  "use strict";
  // htmx requests carry the session's CSRF token, read from the page's <meta>.
  document.addEventListener("htmx:configRequest", function (event) {
    var meta = document.querySelector('meta[name="csrf-token"]');
    if (meta) { event.detail.headers["X-CSRF-Token"] = meta.getAttribute("content"); }
  });
  document.addEventListener("DOMContentLoaded", function () {
    // After adding or removing a part of a note, keep the keyboard where the user was.
    var target = document.getElementById("focus-target");
    var focus = null;
    if (target) {
      var part = document.getElementById(target.getAttribute("data-focus"));
      if (part) { focus = part.matches("button") ? part : part.querySelector("select, textarea, input"); }
    }
    // A refused form: move to its error summary so it is announced.
    if (!focus) { focus = document.getElementById("error-summary"); }
    if (focus) { focus.focus(); if (focus.scrollIntoView) { focus.scrollIntoView({block: "center"}); } }
  });
})();
