// The export page's "Select all" toggle (django-import-export's handler, bound here
// instead of by an inline onchange attribute, which the Content-Security-Policy blocks).
document.addEventListener("DOMContentLoaded", () => {
  for (const toggle of document.querySelectorAll(".select-toggle")) {
    toggle.addEventListener("change", (event) => window.onSelectToggleChange(event));
  }
});
