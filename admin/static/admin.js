// warden admin: the only script, and optional: every page works without it.
// It ticks or unticks every row of a list from the header's checkbox.
"use strict";
document.addEventListener("DOMContentLoaded", function () {
  document.querySelectorAll("input.select-all").forEach(function (all) {
    all.addEventListener("change", function () {
      document.querySelectorAll('input[type="checkbox"][name="id"]').forEach(function (box) {
        box.checked = all.checked;
      });
    });
  });
});
