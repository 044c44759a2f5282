// Enhancements only: the back office works without this file.
(function () {
  "use strict";
  // On a narrow screen the sections scroll sideways: show the current one.
  var cur = document.querySelector(".cnav [aria-current=page]");
  if (cur && cur.scrollIntoView) cur.scrollIntoView({ block: "nearest", inline: "center" });
})();
