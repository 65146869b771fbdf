// Progressive enhancement only: every form works without this file.
(function () {
  "use strict";

  // Inline submit: post the form with fetch and show the same messages the
  // server-rendered pages show, without a page load.
  function inline(form) {
    var status = form.parentNode.querySelector("[data-status]");
    form.addEventListener("submit", function (ev) {
      ev.preventDefault();
      var button = form.querySelector("[type=submit]");
      if (button) button.disabled = true;
      clearErrors(form);
      fetch(form.action, {
        method: "POST",
        headers: { "Accept": "application/json", "Content-Type": "application/x-www-form-urlencoded" },
        body: new URLSearchParams(new FormData(form)).toString(),
        credentials: "same-origin"
      }).then(function (res) {
        return res.json().catch(function () { return {}; }).then(function (body) { return { res: res, body: body }; });
      }).then(function (r) {
        if (r.res.ok) {
          show(status, "success", r.body.message || "Thank you for leaving your details");
          form.reset();
          // Bring the message into view and move the focus to it: on a
          // phone it is far above the button that was pressed.
          var note = status && status.querySelector(".notice");
          if (note) {
            note.setAttribute("tabindex", "-1");
            note.scrollIntoView({ block: "center" });
            note.focus({ preventScroll: true });
          }
        } else if (r.body.form_token) {
          // The confirm step, or an expired form: send it again with the
          // new token, as the page without scripts would.
          var token = form.querySelector('[name="form_token"]');
          if (token) token.value = r.body.form_token;
          show(status, r.body.confirm ? "info" : "error", r.body.error || "Please send the form again.");
          if (r.body.confirm && button) button.textContent = "Confirm and send";
          if (r.body.fields) showErrors(form, r.body.fields);
        } else if (r.res.status === 422 && r.body.fields) {
          show(status, "error", r.body.error || "Please correct the highlighted fields.");
          showErrors(form, r.body.fields);
        } else {
          show(status, "error", r.body.error || "Oops! Something went wrong while submitting the form.");
        }
      }).catch(function () {
        show(status, "error", "Oops! Something went wrong while submitting the form.");
      }).then(function () {
        if (button) button.disabled = false;
      });
    });
  }

  function show(status, kind, text) {
    if (!status) return;
    status.textContent = "";
    var p = document.createElement("p");
    p.className = "notice notice-" + kind;
    if (kind === "error" || kind === "info") p.setAttribute("role", "alert");
    p.textContent = text;
    status.appendChild(p);
  }

  function clearErrors(form) {
    form.querySelectorAll("[data-error-for]").forEach(function (el) {
      el.hidden = true;
      el.textContent = "";
      var field = el.closest(".field");
      if (field) field.classList.remove("has-error");
    });
    form.querySelectorAll("[aria-invalid]").forEach(function (el) { el.removeAttribute("aria-invalid"); });
  }

  function showErrors(form, fields) {
    Object.keys(fields).forEach(function (name) {
      var el = form.querySelector('[data-error-for="' + name + '"]');
      var input = form.querySelector('[name="' + name + '"]');
      if (el) {
        el.textContent = fields[name];
        el.hidden = false;
        var field = el.closest(".field");
        if (field) field.classList.add("has-error");
      }
      if (input) {
        input.setAttribute("aria-invalid", "true");
        if (el) input.setAttribute("aria-describedby", el.id);
      }
    });
    // The first invalid field in the page's order, not the answer's: the
    // server lists the fields alphabetically.
    var first = form.querySelector('[aria-invalid="true"]');
    if (first) first.focus();
  }

  // Pre-select the browser's time zone in the booking page's zone picker
  // when the visitor has not chosen one. The server knows every IANA name
  // and its old names (Asia/Calcutta), so the browser's name is sent as it
  // is; it is tried once a session, so a name the server refuses cannot
  // reload the page again and again.
  function zone() {
    var sel = document.querySelector("select[data-tz]");
    if (!sel || sel.getAttribute("data-chosen") === "1") return;
    var tz;
    try { tz = Intl.DateTimeFormat().resolvedOptions().timeZone; } catch (e) { return; }
    if (!tz || tz === sel.value) return;
    try {
      if (sessionStorage.getItem("leadbook-tz") === tz) return;
      sessionStorage.setItem("leadbook-tz", tz);
    } catch (e) { /* no storage: try once per page */ }
    var known = Array.prototype.some.call(sel.options, function (o) { return o.value === tz; });
    if (!known) {
      var o = document.createElement("option");
      o.value = tz;
      o.textContent = tz;
      sel.appendChild(o);
    }
    sel.value = tz;
    sel.form.submit();
  }

  // A search box over the zone picker: typing "new york", "india" or
  // "calcutta" keeps only the zones that match.
  function zoneSearch() {
    var sel = document.querySelector("select[data-tz]");
    if (!sel || !sel.id) return;
    var field = sel.closest(".field");
    var wrap = document.createElement("div");
    wrap.className = "field tz-search";
    var label = document.createElement("label");
    label.setAttribute("for", "tz-search");
    label.textContent = "Find your time zone";
    var input = document.createElement("input");
    input.type = "search";
    input.id = "tz-search";
    input.autocomplete = "off";
    input.placeholder = "City, country or zone";
    input.setAttribute("aria-controls", sel.id);
    wrap.appendChild(label);
    wrap.appendChild(input);
    field.parentNode.insertBefore(wrap, field);
    input.addEventListener("input", function () {
      var q = input.value.toLowerCase().trim();
      var first = null;
      sel.querySelectorAll("optgroup").forEach(function (g) {
        var any = false;
        g.querySelectorAll("option").forEach(function (o) {
          var hay = (o.textContent + " " + (o.getAttribute("data-search") || "")).toLowerCase();
          var hit = q === "" || hay.indexOf(q) >= 0;
          o.hidden = !hit;
          o.disabled = !hit && !o.selected;
          if (hit) { any = true; if (!first) first = o; }
        });
        g.hidden = !any;
      });
      if (q !== "" && first && sel.selectedOptions[0] && sel.selectedOptions[0].hidden) {
        sel.value = first.value;
      }
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("form[data-inline]").forEach(inline);
    zoneSearch();
    zone();
  });
})();
