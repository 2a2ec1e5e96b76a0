// Behaviour for the triage pages. Loaded with `defer`; no inline scripts (CSP).
// Everything here is an enhancement: every page works without it.
(function () {
  "use strict";

  // Pieces that only make sense without JavaScript (the filters' Apply button) hide.
  document.documentElement.classList.add("js");

  // Flash messages ------------------------------------------------------------
  // Full pages render messages server-side; htmx responses carry them on HX-Trigger
  // (see tracking/middleware.py) as a "messages" event with {items: [...]}.
  var MAX_MESSAGES = 3;

  function showMessage(level, text) {
    var region = document.getElementById("messages");
    if (!region) return;
    var box = document.createElement("div");
    box.className = "message message-" + (level || "info");
    box.setAttribute("role", "status");
    var span = document.createElement("span");
    span.textContent = text;
    var close = document.createElement("button");
    close.type = "button";
    close.className = "message-close";
    close.setAttribute("data-dismiss-message", "");
    close.setAttribute("aria-label", "Dismiss message");
    close.textContent = "×";
    box.appendChild(span);
    box.appendChild(close);
    region.appendChild(box);
    // A short stack, newest at the bottom: older messages give way instead of
    // piling up over the page.
    while (region.children.length > MAX_MESSAGES) region.firstElementChild.remove();
    if (level === "success" || level === "info") {
      window.setTimeout(function () { box.remove(); }, 8000);
    }
  }

  document.addEventListener("messages", function (event) {
    var items = (event.detail && event.detail.items) || [];
    items.forEach(function (item) { showMessage(item.level, item.message); });
  });

  // Answers htmx does not swap (403, 5xx) and requests that never arrived: say so
  // where messages go, instead of a button that silently does nothing. A 403 from an
  // action carries its reason as plain text.
  document.addEventListener("htmx:responseError", function (event) {
    var xhr = event.detail.xhr;
    var type = xhr.getResponseHeader("Content-Type") || "";
    var reason = xhr.status === 403 && type.indexOf("text/plain") === 0 ? xhr.responseText : "";
    showMessage("error", reason ||
      "That did not work (HTTP " + xhr.status + "). Reload the page and try again.");
  });
  document.addEventListener("htmx:sendError", function () {
    showMessage("error", "The server could not be reached. Check the connection and try again.");
  });

  // Bulk bar menus: one open at a time, so two forms never stack over the table.
  document.addEventListener("toggle", function (event) {
    var menu = event.target;
    if (!(menu instanceof Element) || !menu.matches("[data-bulk-menu]") || !menu.open) return;
    document.querySelectorAll("[data-bulk-menu][open]").forEach(function (other) {
      if (other !== menu) other.open = false;
    });
  }, true);

  document.addEventListener("click", function (event) {
    var target = event.target;
    if (!(target instanceof Element)) return;
    if (target.closest("[data-bulk-cancel]")) {
      event.preventDefault();
      dropConfirmation();
      return;
    }
    var dismiss = target.closest("[data-dismiss-message]");
    if (dismiss) {
      dismiss.parentElement.remove();
      return;
    }
    var copy = target.closest("[data-copy]");
    if (copy) {
      copyText(copy);
      return;
    }
    if (target.closest("[data-shortcuts-open]")) {
      openShortcuts();
    }
  });

  function copyText(button) {
    var text = button.getAttribute("data-copy");
    if (!navigator.clipboard) return;
    navigator.clipboard.writeText(text).then(function () {
      var label = button.textContent;
      button.textContent = "Copied";
      window.setTimeout(function () { button.textContent = label; }, 1500);
    }, function () { /* clipboard refused (insecure context): the DSN stays selectable */ });
  }

  // Resolve forms: say that a type requires testing as soon as it is picked. --------
  // Options of such types carry data-requires-testing (their label says it too).
  function updateTestingNote(select) {
    var form = select.form;
    if (!form) return;
    var steps = form.querySelector("textarea[name='steps_taken']");
    if (!steps) return;
    var option = select.options[select.selectedIndex];
    var needed = Boolean(option && option.hasAttribute("data-requires-testing"));
    var note = form.querySelector("[data-testing-note]");
    if (!note) {
      note = document.createElement("p");
      note.className = "testing-note";
      note.setAttribute("data-testing-note", "");
      note.setAttribute("role", "status");
      steps.parentElement.insertBefore(note, steps);
    }
    note.hidden = !needed;
    note.textContent = needed
      ? "“" + option.textContent.replace(/ \(requires testing\)$/, "") +
        "” requires testing: say in steps taken how the fix was tested."
      : "";
    steps.required = needed;
    steps.setAttribute("aria-required", needed ? "true" : "false");
  }

  document.addEventListener("change", function (event) {
    var target = event.target;
    if (target instanceof HTMLSelectElement && target.matches("[data-resolution-type]")) {
      updateTestingNote(target);
    }
  });
  function initTestingNotes(root) {
    (root || document).querySelectorAll("select[data-resolution-type]").forEach(function (select) {
      if (select.value) updateTestingNote(select);
    });
  }
  document.addEventListener("htmx:afterSettle", function (event) { initTestingNotes(event.target); });

  // Bulk selection --------------------------------------------------------------
  function rowCheckboxes() {
    return Array.prototype.slice.call(
      document.querySelectorAll('#results input[data-row-select]'));
  }

  function errorsText(count) {
    return count + (count === 1 ? " error" : " errors");
  }

  function updateSelection() {
    var boxes = rowCheckboxes();
    var checked = boxes.filter(function (box) { return box.checked; }).length;
    var matching = document.querySelector("#results [data-all-matching]");
    var allOnPage = boxes.length > 0 && checked === boxes.length;
    if (matching && !allOnPage) matching.checked = false;
    var bar = document.querySelector("[data-bulk-bar]");
    if (bar) {
      bar.classList.toggle("has-selection", checked > 0);
      var count = bar.querySelector("[data-selected-count]");
      if (count) {
        if (matching && matching.checked) {
          count.textContent = "All " + errorsText(Number(matching.getAttribute("data-count"))) +
            " matching this filter selected";
        } else {
          count.textContent = checked === 0 ? "No errors selected" : errorsText(checked) + " selected";
        }
      }
    }
    // "Select all N matching" is offered once the whole page is ticked.
    var offer = document.querySelector("#results [data-select-matching]");
    if (offer) offer.hidden = !allOnPage;
    var all = document.querySelector("#results [data-select-all]");
    if (all) {
      all.checked = allOnPage;
      all.indeterminate = checked > 0 && checked < boxes.length;
    }
    boxes.forEach(function (box) {
      var row = box.closest("[data-row]");
      if (row) row.classList.toggle("is-selected", box.checked);
    });
  }

  document.addEventListener("change", function (event) {
    var target = event.target;
    if (!(target instanceof Element)) return;
    if (target.matches("[data-select-all]")) {
      rowCheckboxes().forEach(function (box) { box.checked = target.checked; });
      dropConfirmation();
      updateSelection();
    } else if (target.matches("[data-row-select], [data-all-matching]")) {
      dropConfirmation();
      updateSelection();
    }
  });

  // A bulk confirmation counted the selection it was asked for; once the ticks
  // change it no longer says what would happen, so it goes (the server checks too).
  function dropConfirmation() {
    document.querySelectorAll("[data-bulk-confirm]").forEach(function (box) { box.remove(); });
  }

  // Inbox keyboard: j/k move, Enter opens, x selects, / searches, ? lists them. ----
  var currentRow = -1;

  function rows() {
    return Array.prototype.slice.call(document.querySelectorAll("#results [data-row]"));
  }

  function setCurrent(index, focus) {
    var all = rows();
    if (all.length === 0) return;
    currentRow = Math.max(0, Math.min(index, all.length - 1));
    all.forEach(function (row, i) { row.classList.toggle("is-current", i === currentRow); });
    var link = all[currentRow].querySelector("[data-row-link]");
    if (focus && link) {
      link.focus({ preventScroll: true });
      all[currentRow].scrollIntoView({ block: "nearest" });
    }
  }

  function openShortcuts() {
    var dialog = document.getElementById("shortcuts-dialog");
    if (dialog && !dialog.open) dialog.showModal();
  }

  function isTyping(target) {
    if (!(target instanceof Element)) return false;
    return target.isContentEditable || target.matches("input, select, textarea");
  }

  // Esc leaves a search box without changing the filter. Chromium's default for Esc
  // in a type=search field is to clear it (firing input and search events, which
  // would reload the unfiltered list); preventing the default keeps the query.
  document.addEventListener("keydown", function (event) {
    var target = event.target;
    if (event.key !== "Escape" || !(target instanceof HTMLInputElement)) return;
    if (target.type !== "search") return;
    event.preventDefault();
    target.blur();
  });

  document.addEventListener("keydown", function (event) {
    if (event.ctrlKey || event.metaKey || event.altKey) return;
    if (!document.getElementById("results")) return;
    var dialog = document.getElementById("shortcuts-dialog");
    if (dialog && dialog.open) return;
    if (isTyping(event.target)) {
      if (event.key === "Escape") event.target.blur();
      return;
    }
    switch (event.key) {
      case "j":
        setCurrent(currentRow + 1, true);
        break;
      case "k":
        setCurrent(currentRow <= 0 ? 0 : currentRow - 1, true);
        break;
      case "x": {
        var row = rows()[currentRow];
        var box = row && row.querySelector("[data-row-select]");
        if (!box) return;
        box.checked = !box.checked;
        updateSelection();
        break;
      }
      case "Enter": {
        // A focused link or button already does the right thing on Enter.
        if (event.target instanceof Element && event.target.closest("a, button, summary")) return;
        var current = rows()[currentRow];
        var link = current && current.querySelector("[data-row-link]");
        if (!link) return;
        link.click();
        break;
      }
      case "/": {
        var search = document.getElementById("id_q");
        if (!search) return;
        search.focus();
        search.select();
        break;
      }
      case "?":
        openShortcuts();
        break;
      default:
        return;
    }
    event.preventDefault();
  });

  document.addEventListener("focusin", function (event) {
    var target = event.target;
    if (!(target instanceof Element)) return;
    var row = target.closest("#results [data-row]");
    if (row) setCurrent(rows().indexOf(row), false);
  });

  // New results: the old row positions and selection no longer apply.
  function resetRows() {
    currentRow = -1;
    updateSelection();
  }
  document.addEventListener("htmx:afterSettle", resetRows);
  document.addEventListener("htmx:historyRestore", resetRows);

  // Shared URLs carry only the filters in use: empty fields are not sent (nor pushed).
  document.addEventListener("htmx:configRequest", function (event) {
    var elt = event.detail.elt;
    if (!(elt instanceof Element) || !elt.closest("#filters")) return;
    var params = event.detail.parameters;
    var data = event.detail.formData;
    if (data && typeof data.keys === "function") {
      Array.from(new Set(data.keys())).forEach(function (key) {
        if (data.getAll(key).every(function (value) { return value === ""; })) data.delete(key);
      });
    } else if (params) {
      Object.keys(params).forEach(function (key) {
        if (params[key] === "") delete params[key];
      });
    }
  });

  // Narrow screens: the filter card starts folded to its search box.
  var filters = document.getElementById("filters");
  var toggle = document.querySelector("[data-filters-toggle]");
  if (filters && toggle) {
    filters.classList.add("is-collapsed");
    toggle.hidden = false;
    toggle.addEventListener("click", function () {
      var collapsed = filters.classList.toggle("is-collapsed");
      toggle.setAttribute("aria-expanded", collapsed ? "false" : "true");
    });
  }
  updateSelection();
  initTestingNotes(document);
})();
