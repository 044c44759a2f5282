// Enhancements only: every page works without this file.
(function () {
  "use strict";
  // A form sent once is not sent again by a second click while the page
  // loads (the server would replay it anyway: each form has its own key).
  document.addEventListener("submit", function (e) {
    var f = e.target;
    if (f.dataset.sent) { e.preventDefault(); return; }
    f.dataset.sent = "1";
    setTimeout(function () { delete f.dataset.sent; }, 4000);
  });
  // Inside a partner's frame, tell the parent that a card was issued, but
  // only a parent whose origin the server checked against the tenant's
  // allowlist, and only when the browser confirms that is the frame's parent.
  var r = document.getElementById("loyalty-result");
  if (!r || window.parent === window) return;
  var origin = r.getAttribute("data-parent-origin");
  if (!origin) return;
  var anc = window.location.ancestorOrigins;
  if (anc && anc.length && anc[0] !== origin) return;
  window.parent.postMessage({ type: r.getAttribute("data-event") }, origin);
})();
