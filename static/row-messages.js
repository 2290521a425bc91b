// After an action the page opens at the acted-on row (#milestone-N) or section (#notes). Its message is already in that row; moving
// the keyboard focus there makes screen readers read it out and keeps the next Tab inside the row. Done once the
// page has loaded, after the browser's own scrolling to the fragment.
window.addEventListener("load", function () {
  var target = location.hash ? document.getElementById(location.hash.slice(1)) : null;
  var message = (target || document).querySelector("[data-row-message]");
  if (message) {
    message.focus();
  }
});
