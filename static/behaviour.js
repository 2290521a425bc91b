// Small page behaviours, kept out of the HTML so that the Content-Security-Policy forbids every inline script.
"use strict";
document.addEventListener("DOMContentLoaded", function () {
  // A read-only address field selects its whole text on a click, ready to copy.
  document.querySelectorAll("input[data-select-on-click]").forEach(function (field) {
    field.addEventListener("click", function () { field.select(); });
  });
  // A choice that is a navigation submits its form at once (the form's button does the same without JavaScript).
  document.querySelectorAll("select[data-autosubmit]").forEach(function (choice) {
    choice.addEventListener("change", function () { choice.form.requestSubmit(); });
  });
});
