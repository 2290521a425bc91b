// Names for the admin's unlabeled controls (templates/admin/base_site.html; checked by axe in tests/e2e):
// the fields of tabular inlines, which Django labels only by their column header, and select2's search box.
// select2 4.0 also puts its mouse-only "clear all" × inside the list of choices; it is hidden from screen
// readers (keyboard users remove choices one by one), which keeps that list a valid list.
"use strict";
(function () {
  function nameInlineFields(root) {
    root.querySelectorAll(".tabular table").forEach(function (table) {
      var headers = Array.prototype.map.call(table.querySelectorAll("thead th"), function (th) {
        return th.textContent.trim();
      });
      table.querySelectorAll("tbody tr").forEach(function (row) {
        Array.prototype.forEach.call(row.cells, function (cell, index) {
          cell.querySelectorAll("input:not([type=hidden]), select, textarea").forEach(function (control) {
            if (!control.labels.length && !control.hasAttribute("aria-label") && headers[index]) {
              control.setAttribute("aria-label", headers[index]);
            }
          });
        });
      });
    });
  }
  function nameSelect2Searches(root) {
    root.querySelectorAll("select.admin-autocomplete").forEach(function (select) {
      var container = select.nextElementSibling;
      var label = select.labels.length ? select.labels[0].textContent.replace(/:\s*$/, "").trim() : select.name;
      if (!container || !container.classList.contains("select2")) return;
      container.querySelectorAll(".select2-search__field").forEach(function (field) {
        field.setAttribute("aria-label", label);
      });
      hideClearButtons(container);
    });
  }
  function hideClearButtons(container) {
    container.querySelectorAll(".select2-selection__clear:not([aria-hidden])").forEach(function (clear) {
      clear.setAttribute("aria-hidden", "true");
    });
  }
  // A single select2 box is named by its selected value only, which is empty when nothing is chosen.
  function nameSelect2Boxes(root) {
    root.querySelectorAll("select.admin-autocomplete").forEach(function (select) {
      var container = select.nextElementSibling;
      var label = select.getAttribute("aria-label") ||
        (select.labels.length ? select.labels[0].textContent.replace(/:\s*$/, "").trim() : select.name);
      if (!container || !container.classList.contains("select2")) return;
      container.querySelectorAll(".select2-selection[role=combobox], .select2-selection__rendered[role=textbox]").forEach(function (box) {
        box.setAttribute("aria-label", label);
      });
    });
  }
  // A split date and time (the user's 마지막 로그인) is two inputs under one label: "<label> 날짜", "<label> 시각".
  function nameSplitDateTimes(root) {
    root.querySelectorAll("p.datetime").forEach(function (paragraph) {
      var row = paragraph.closest(".form-row, .fieldBox, div");
      var rowLabel = row && row.querySelector("label") ? row.querySelector("label").textContent.replace(/:\s*$/, "").trim() : "";
      paragraph.querySelectorAll("input").forEach(function (input) {
        var before = input.previousSibling;
        while (before && before.nodeType !== Node.TEXT_NODE) before = before.previousSibling;
        var part = before ? before.textContent.replace(/:\s*$/, "").trim() : "";
        if (!input.labels.length && !input.hasAttribute("aria-label")) {
          input.setAttribute("aria-label", (rowLabel + " " + part).trim());
        }
      });
    });
  }
  // The magnifier in front of a "filter_horizontal" search box carries an aria-label, which a bare span may not.
  function roleForSearchIcons(root) {
    root.querySelectorAll(".search-label-icon[aria-label]:not([role])").forEach(function (icon) {
      icon.setAttribute("role", "img");
    });
  }
  function nameAll() {
    nameInlineFields(document);
    nameSelect2Searches(document);
    nameSelect2Boxes(document);
    nameSplitDateTimes(document);
    roleForSearchIcons(document);
  }
  // select2 starts from a jQuery "ready" handler, which may run after the page's load event, and re-renders its
  // choices on every change: name everything once the page is parsed and again after every change of the page.
  document.addEventListener("DOMContentLoaded", function () {
    nameAll();
    new MutationObserver(nameAll).observe(document.body, { childList: true, subtree: true });
  });
})();
