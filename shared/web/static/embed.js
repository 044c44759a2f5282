// Loyalty enrollment embed: a button that opens the enrollment page in a
// modal dialog over the partner's page. Paste:
// <script src="<service>/embed.js" data-loyalty-page="<service>/j/<slug>" async></script>
(function () {
  "use strict";
  var me = document.currentScript;
  if (!me) return;
  var page = me.getAttribute("data-loyalty-page");
  if (!page) return;
  var pageOrigin = new URL(page, location.href).origin;
  var ru = !/^en/i.test(document.documentElement.lang || navigator.language || "");
  var text = {
    open: me.getAttribute("data-label") || (ru ? "Получить карту лояльности" : "Get a loyalty card"),
    close: ru ? "Закрыть" : "Close",
    title: ru ? "Карта лояльности" : "Loyalty card"
  };
  var button = document.createElement("button");
  button.type = "button";
  button.textContent = text.open;
  button.setAttribute("aria-haspopup", "dialog");
  me.parentNode.insertBefore(button, me);

  var dialog = document.createElement("dialog");
  dialog.setAttribute("aria-label", text.title);
  dialog.style.cssText = "padding:0;border:0;border-radius:12px;width:min(480px,100vw);max-height:100vh";
  var close = document.createElement("button");
  close.type = "button";
  close.textContent = text.close;
  close.style.cssText = "display:block;margin:8px 8px 0 auto";
  var frame = document.createElement("iframe");
  frame.title = text.title;
  frame.style.cssText = "display:block;border:0;width:100%;height:min(640px,85vh)";
  dialog.appendChild(close);
  dialog.appendChild(frame);
  document.body.appendChild(dialog);

  button.addEventListener("click", function () {
    if (!frame.src) frame.src = page + (page.indexOf("?") < 0 ? "?" : "&") + "embed=1";
    dialog.showModal(); // focus moves into the dialog; Escape closes it
    close.focus();
  });
  close.addEventListener("click", function () { dialog.close(); });
  dialog.addEventListener("close", function () { button.focus(); });
  // The page tells the outcome; only messages from its own origin count.
  window.addEventListener("message", function (e) {
    if (e.origin !== pageOrigin || e.source !== frame.contentWindow || !e.data || e.data.type !== "loyalty:enrolled") return;
    document.dispatchEvent(new CustomEvent("loyalty:enrolled"));
  });
})();
