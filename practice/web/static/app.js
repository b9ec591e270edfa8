// practice: the few lines of our own script. Every page works without it.
(function () {
  "use strict";
  var AUTOSAVE_EVERY_MS = 20000;

  // htmx requests carry the session's CSRF token, read from the page's <meta>.
  document.addEventListener("htmx:configRequest", function (event) {
    var token = csrfToken();
    if (token) { event.detail.headers["X-CSRF-Token"] = token; }
  });

  function csrfToken() {
    var meta = document.querySelector('meta[name="csrf-token"]');
    return meta ? meta.getAttribute("content") : "";
  }

  // Where the keyboard goes on a page (or on a part htmx just put in): the part of a note
  // just added or removed, or a card just marked, or a refused form's error summary.
  function placeFocus(root) {
    var focus = null;
    var editor = root.querySelector ? root.querySelector("[data-focus]") : null;
    if (root.matches && root.matches("[data-focus]")) { editor = root; }
    if (editor) {
      var part = document.getElementById(editor.getAttribute("data-focus"));
      if (part) { focus = part.matches("button") ? part : part.querySelector("select, textarea, input"); }
    }
    if (!focus && root.matches && root.matches("[data-focus-me]")) { focus = root; }
    if (!focus) { focus = root.querySelector ? root.querySelector("#error-summary") : null; }
    if (focus) { focus.focus(); if (focus.scrollIntoView) { focus.scrollIntoView({block: "center"}); } }
  }

  // An htmx request the server refused: say so where it was asked, in the server's words
  // (the error page's heading and sentence), and leave the page as it was.
  document.addEventListener("htmx:responseError", function (event) {
    var xhr = event.detail.xhr;
    var doc = new DOMParser().parseFromString(xhr.responseText || "", "text/html");
    var words = [];
    doc.querySelectorAll("main h1, main .detail").forEach(function (el) { words.push(el.textContent); });
    var alert = document.createElement("p");
    alert.className = "form-error";
    alert.setAttribute("role", "alert");
    alert.textContent = (words.join(": ") || "That did not work") + " (error " + xhr.status + "). Reload the page to see the current state.";
    var where = event.detail.elt.closest("form") || event.detail.elt;
    where.insertAdjacentElement("afterend", alert);
  });

  document.addEventListener("htmx:load", function (event) {
    if (event.detail.elt !== document.body) { placeFocus(event.detail.elt); }
  });

  // The note editor saves a draft by itself while text is typed (so an idle timeout
  // never finds unsaved words): with the form's version, as "Save draft" does. A newer
  // save elsewhere stops it; "Save draft" then shows both texts. The form is looked up
  // at each save: htmx replaces it when a part is added or removed.
  var dirty = false;
  var busy = false;
  var stopped = false;

  function editor() { return document.querySelector("form[data-autosave]"); }

  function say(text) {
    var status = document.getElementById("autosave");
    if (status) { status.textContent = text; }
  }

  function autosave() {
    var form = editor();
    if (!form || !dirty || busy || stopped) { return; }
    busy = true;
    dirty = false;
    var body = new FormData(form);
    body.delete("action");
    fetch(form.getAttribute("data-autosave"), {
      method: "POST",
      body: body,
      credentials: "same-origin",
      headers: {"X-CSRF-Token": csrfToken()}
    }).then(function (response) {
      return response.text().then(function (text) {
        var doc = new DOMParser().parseFromString(text, "text/html");
        var answer = doc.getElementById("autosave");
        var version = document.getElementById("f-version");
        if (response.status === 200 && answer && answer.getAttribute("data-version") && version) {
          version.value = answer.getAttribute("data-version");
          say(answer.textContent);
        } else if (response.status === 409 || response.status === 422) {
          stopped = response.status === 409;
          say(answer ? answer.textContent : "Not saved automatically.");
        } else if (response.status === 401) {
          stopped = true;
          say("You were signed out. Your text is still here: press “Save draft” to sign in again and keep it.");
        } else {
          dirty = true;
          say("Not saved automatically (error " + response.status + "); your text is still here.");
        }
      });
    }).catch(function () {
      dirty = true;
      say("Not saved automatically: no connection. Your text is still here.");
    }).then(function () { busy = false; });
  }

  function typed(event) {
    if (event.target.closest && event.target.closest("form[data-autosave]")) { dirty = true; }
  }
  document.addEventListener("input", typed);
  document.addEventListener("change", typed);
  document.addEventListener("submit", function (event) {
    if (event.target.matches("form[data-autosave]") && !event.target.hasAttribute("hx-post")) {
      stopped = true;  // a full save is on its way
    }
  });
  document.addEventListener("visibilitychange", function () {
    if (document.visibilityState === "hidden") { autosave(); }
  });

  document.addEventListener("DOMContentLoaded", function () {
    placeFocus(document);
    var form = editor();
    if (form) {
      window.setInterval(autosave, Number(form.getAttribute("data-autosave-ms")) || AUTOSAVE_EVERY_MS);
    }
  });
})();
